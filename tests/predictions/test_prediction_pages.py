"""The Predictions page, a prediction's detail, the Dashboard's edges and the Models page."""

import re

import pytest
from django.utils import timezone

from predictions import grading, services
from predictions.models import Prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(served, client, user):
    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    client.force_login(user)
    return served


def test_the_predictions_page_lists_props_with_predictions_sorted_by_edge(scored, client):
    response = client.get("/predictions/?sport=nba&sort=-edge")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="prop-row"') == 20 and "details</a>" in html
    best = Prediction.objects.order_by("-edge").first()
    assert html.index(f"/predictions/{best.pk}/") < html.index("</tbody>")
    shown = [int(pk) for pk in re.findall(r'href="/predictions/(\d+)/" data-testid="detail-link"', html)]
    edges = dict(Prediction.objects.values_list("pk", "edge"))
    assert len(shown) == 20 and [edges[pk] for pk in shown] == sorted(edges.values(), reverse=True)


def test_the_predictions_page_filters_by_minimum_edge_and_paginates(scored, client, monkeypatch):
    import predictions.views

    monkeypatch.setattr(predictions.views, "PAGE_SIZE", 5)
    page = client.get("/predictions/?sport=nba&min_edge=-100")
    assert page.context["page"].paginator.num_pages == 4 and 'data-testid="next-page"' in page.content.decode()
    edges = sorted(Prediction.objects.values_list("edge", flat=True))
    # Between the 10th and 11th edge: a threshold equal to one could round either way in % units.
    threshold = (edges[9] + edges[10]) / 2 * 100
    filtered = client.get(f"/predictions/?sport=nba&min_edge={threshold}")
    assert filtered.context["page"].paginator.count == 10


def test_a_prediction_detail_shows_the_distribution_odds_edge_and_version(scored, client):
    prediction = Prediction.objects.order_by("-edge").first()
    response = client.get(f"/predictions/{prediction.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="distribution-chart"' in html and f"line {prediction.line:g}" in html
    assert "nba.points.ensemble v1" in html and 'data-testid="simulated-label"' in html
    assert f"{prediction.edge * 100:.1f} % on the {prediction.side}" in html


def test_shadow_predictions_are_not_shown_to_users(served, register_models, client, user):
    challenger = register_models()
    grading.shadow_start(version_id=challenger.pk)
    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    shadow = Prediction.objects.filter(shadow=True).first()
    client.force_login(user)
    assert client.get(f"/predictions/{shadow.pk}/").status_code == 404


def test_the_dashboard_shows_todays_best_edges_and_model_health(served, client, user):
    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    Prediction.objects.update(edge=0.07)
    served["upcoming"][0].__class__.objects.filter(pk__in=[g.pk for g in served["upcoming"]]).update(
        date=timezone.now().date()
    )
    client.force_login(user)
    html = client.get("/").content.decode()
    assert 'data-testid="best-edges"' in html and "7.0 %" in html
    assert 'data-testid="model-health"' in html and "nba.points.ensemble v1" in html


def test_the_models_page_shows_live_performance_weights_and_the_reliability_plot(served, client, staff_user):
    client.force_login(staff_user)
    version = served["version"]
    html = client.get("/models/").content.decode()
    assert 'data-testid="live-performance"' in html and 'data-testid="champion-challenger"' in html
    assert f"/models/{version.pk}/reliability.png" in html
    assert 'data-testid="outdated-models"' not in html
    plot = client.get(f"/models/{version.pk}/reliability.png")
    assert plot.status_code == 200 and plot["Content-Type"] == "image/png"


def test_the_models_page_names_a_production_version_trained_on_other_features(served, client, user):
    version = served["version"]
    version.feature_schema = {**version.feature_schema, "names": ["old_feature"], "version": "0123456789abcdef"}
    version.save(update_fields=["feature_schema"])
    client.force_login(user)
    html = client.get("/models/").content.decode()
    assert 'data-testid="outdated-models"' in html
    assert "Not served: nba.points.ensemble v1" in html and "train_models --sport nba --stat points" in html


def test_the_models_page_compares_mlb_ensembles_with_the_fair_and_the_plain_marcel(client, user):
    from a1site.registry.services import model_version_activate
    from tests.a1site.factories import register_version

    metrics = {
        "log_loss": 0.65,
        "mae": 5.0,
        "n_test": 286,
        "baselines": {"fair_marcel": {"mae": 5.2}, "marcel": {"mae": 5.5}, "book": {"mae": 5.4}},
    }
    version = register_version(name="mlb.home_runs.ensemble", metrics=metrics)
    model_version_activate(version_id=version.pk)
    client.force_login(user)
    html = client.get("/models/").content.decode()
    section = html[html.index('data-testid="mlb-vs-marcel"') :]
    assert "fair Marcel" in section and "qualified players only" in section
    assert "mlb.home_runs.ensemble v1" in section
    assert "0.962" in section and "0.909" in section  # 5.0 / 5.2 and 5.0 / 5.5


def test_the_best_edges_are_read_once_until_a_prediction_or_prop_is_added(served, django_assert_max_num_queries):
    from predictions import selectors

    day = served["upcoming"][0].date
    services.slate_predict(sport="nba", date=day)
    Prediction.objects.update(edge=0.07)
    first = selectors.best_edges(date=day)
    assert first and all(prop.pred_edge == 0.07 for block in first for prop, _ in block["props"])
    with django_assert_max_num_queries(2):  # the newest prediction's and prop's ids
        again = selectors.best_edges(date=day)
    assert [p.pk for p, _ in again[0]["props"]] == [p.pk for p, _ in first[0]["props"]]
    # The odds move: a new prop line and its prediction (neither is ever edited) make a new
    # key, and the answer is read again.
    from datetime import timedelta

    moved, repriced = first[0]["props"][-1]
    moved.pk, moved.seen_at = None, moved.seen_at + timedelta(minutes=1)
    moved.save()
    repriced.pk, repriced.prop_line, repriced.edge = None, moved, 0.5
    repriced.save()
    top, prediction = selectors.best_edges(date=day)[0]["props"][0]
    assert (top.pk, top.pred_edge, prediction.pk) == (moved.pk, 0.5, repriced.pk)


def test_a_pages_predictions_come_with_their_model_versions_in_two_queries(served, django_assert_num_queries):
    """Each distinct version is read once, not joined (and its JSON decoded) per prediction."""
    from predictions import selectors

    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    ids = list(Prediction.objects.values_list("pk", flat=True)[:50])
    assert len(ids) > 1
    with django_assert_num_queries(2):
        found = selectors.predictions_by_id(ids + [None])
        names = {prediction.model_version.name for prediction in found.values()}
    assert set(found) == set(ids) and names == {"nba.points.ensemble"}
