"""The Dashboard keeps its rendered sections in the cache (a1site.core.fragments): each view
still shows every change made since the one before, and renders only what changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from a1site.core import fragments
from a1site.jobs import services as job_services
from a1site.registry.services import model_version_activate
from predictions import services
from predictions.models import DriftWarning, ModelLiveMetrics, Prediction, PropLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def today_slate(served, client, user):
    """The first upcoming day's slate priced and moved to today, and alice logged in."""
    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    served["upcoming"][0].__class__.objects.filter(pk__in=[g.pk for g in served["upcoming"]]).update(
        date=timezone.now().date()
    )
    client.force_login(user)
    return served


def _dashboard(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</table>", start)]


def test_a_new_prediction_on_a_new_prop_line_shows_on_the_next_view(today_slate, client):
    before = _dashboard(client)
    assert "50.0 %" not in _section(before, "best-edges")
    # The odds move: a new quote of a shown prop, priced with a much larger edge.
    prediction = Prediction.objects.filter(shadow=False).order_by("-edge").first()
    prop = PropLine.objects.get(pk=prediction.prop_line_id)
    prop.pk, prop.seen_at = None, prop.seen_at + timedelta(minutes=1)
    prop.save()
    prediction.pk, prediction.prop_line, prediction.edge = None, prop, 0.5
    prediction.save()
    after = _section(_dashboard(client), "best-edges")
    assert "50.0 %" in after and f"/predictions/{prediction.pk}/" in after


def test_live_metrics_and_drift_warnings_show_on_the_next_view(today_slate, client):
    version = today_slate["version"]
    assert "0.7123" not in _dashboard(client)
    live = ModelLiveMetrics.objects.create(
        model_version=version, member="", n_graded=321, ewm_log_loss=0.7123, hit_rate=0.55
    )
    health = _section(_dashboard(client), "model-health")
    assert "0.7123" in health and "321" in health and "55.0 %" in health
    # Grading edits the same row in place.
    live.n_graded, live.ewm_log_loss = 400, 0.6999
    live.save()
    health = _section(_dashboard(client), "model-health")
    assert "0.6999" in health and "400" in health and "0.7123" not in health

    warning = DriftWarning.objects.create(
        model_version=version, live_log_loss=0.8, validation_log_loss=0.6, margin=0.1, n_graded=400
    )
    assert "Drift: nba.points.ensemble v1 live log loss 0.8000 vs 0.6000 held-out." in _dashboard(client)
    # Cleared, the page is as it was before the warning opened: it must not come back.
    warning.cleared_at = timezone.now()
    warning.save(update_fields=["cleared_at"])
    assert 'data-testid="drift-warnings"' not in _dashboard(client)


def test_an_activated_version_shows_on_the_next_view(today_slate, client, register_models):
    assert "nba.points.ensemble v2" not in _dashboard(client)
    challenger = register_models()
    model_version_activate(version_id=challenger.pk)
    html = _dashboard(client)
    assert "nba.points.ensemble v2" in _section(html, "model-health")
    production = html[html.index("<h2>Models in production</h2>") :]
    assert "<td>nba.points.ensemble</td><td>Ensemble</td><td>v2</td>" in production
    assert "<td>nba.points.ensemble</td><td>Ensemble</td><td>v1</td>" not in production


def test_a_jobs_progress_shows_on_the_next_view_to_its_owner_only(today_slate, client, user, other_user):
    job = job_services.job_create(kind="train_models", owner=user)
    job_services.job_start(job_id=job.pk)
    job_services.job_progress(job_id=job.pk, fraction=0.1)
    assert '<progress max="100" value="10">' in _dashboard(client)
    job_services.job_progress(job_id=job.pk, fraction=0.6)  # an UPDATE: no timestamp changes
    html = _dashboard(client)
    assert '<progress max="100" value="60">' in html and "Running" in html
    client.force_login(other_user)
    assert "train_models" not in _dashboard(client)


def test_an_unchanged_dashboard_is_read_in_eight_queries_and_renders_no_section(
    today_slate, client, django_assert_num_queries, monkeypatch
):
    _dashboard(client)
    rendered = []
    render = fragments.render_to_string
    monkeypatch.setattr(
        fragments, "render_to_string", lambda name, context: rendered.append(name) or render(name, context)
    )
    # The session and the user, the production versions and the user's jobs, the ensembles
    # with their live metrics, the open drift warnings and the best edges' version.
    with django_assert_num_queries(8):
        html = _dashboard(client)
    assert rendered == [] and 'data-testid="best-edges"' in html


def test_a_prediction_asked_through_the_api_does_not_render_the_edges_again(
    today_slate, client, user_client, monkeypatch
):
    """An API prediction prices no prop line, so the best edges cannot change with it: under
    load they were scored again after every request (a third of a busy server's time)."""
    from tests.predictions.test_predictions_api import prop_for

    _dashboard(client)
    asked = user_client.post("/api/predictions/", prop_for(today_slate, line=14), format="json")
    assert asked.status_code in (200, 201) and Prediction.objects.filter(pk=asked.json()["id"], prop_line=None).exists()
    rendered = []
    render = fragments.render_to_string
    monkeypatch.setattr(
        fragments, "render_to_string", lambda name, context: rendered.append(name) or render(name, context)
    )
    _dashboard(client)
    assert "predictions/panels/dashboard.html" not in rendered
