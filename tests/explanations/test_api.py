"""The explanations API end to end through the test client, with real models and the
database: levels, errors, the cache and a new version, batches, what-if, jobs and plots."""

import pytest

from a1site.jobs.models import Job
from a1site.registry.services import model_version_activate
from explanations.models import BackgroundSample, GlobalInsight
from explanations.services import explanations_cache


def url(prediction_id, level=None):
    return f"/api/predictions/{prediction_id}/explanation/" + (f"?level={level}" if level else "")


def test_standard_explanation_adds_up_to_the_stored_prediction(slate, user_client):
    prediction = slate["predictions"][0]
    response = user_client.get(url(prediction.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["level"] == "standard" and body["cached"] is False
    assert body["model_version"]["id"] == prediction.model_version_id
    mean, p_over = body["outputs"]["mean"], body["outputs"]["p_over"]
    assert mean["label"] == "Predicted mean (points)"
    assert p_over["label"] == f"P(over {prediction.line:g})"
    # The explained outputs are the stored prediction's, and the contributions add up to them.
    assert mean["value"] == pytest.approx(prediction.mean, rel=1e-5)
    assert p_over["value"] == pytest.approx(prediction.p_over, abs=1e-6)
    total_mean = mean["base"] + sum(c["mean"] for c in body["contributions"])
    total_p = p_over["base"] + sum(c["p_over"] for c in body["contributions"])
    assert total_mean == pytest.approx(mean["value"], abs=1e-4)
    assert total_p == pytest.approx(p_over["value"], abs=1e-9)
    assert len(body["contributions"]) == 20
    assert {m["kind"] for m in body["members"]} == {"xgboost", "torch"}
    assert all(m["additivity_error"] < 1e-4 for m in body["members"])
    assert 0 <= body["quality"]["score"] <= 1 and body["quality"]["stability"] is not None
    assert body["reasons"] and all(":" in reason for reason in body["reasons"])
    # The first use of the version stored its background sample, recorded as such.
    sample = BackgroundSample.objects.get(model_version_id=prediction.model_version_id)
    assert sample.source == "first_use" and sample.n_rows >= 20


@pytest.mark.parametrize(
    ("level", "fields"),
    [
        ("fast", {"outputs", "top", "reasons", "quality"}),
        ("standard", {"contributions", "members"}),
        ("detailed", {"contributions", "interactions", "percentiles"}),
        ("comprehensive", {"interactions", "what_if_curves", "global"}),
    ],
)
def test_each_level_returns_its_fields(slate, user_client, level, fields):
    body = user_client.get(url(slate["predictions"][1].pk, level)).json()
    assert body["level"] == level
    assert fields <= set(body)
    if level == "fast":
        assert "contributions" not in body
        assert len(body["top"]["up"]) <= 3 and len(body["top"]["down"]) <= 3
    if level == "detailed":
        assert body["interactions"]["pairs"]
        assert all(0 <= v <= 100 for v in body["percentiles"].values())


def test_second_request_is_answered_from_the_cache(slate, user_client):
    pk = slate["predictions"][0].pk
    first = user_client.get(url(pk, "fast")).json()
    second = user_client.get(url(pk, "fast")).json()
    assert first["cached"] is False and second["cached"] is True
    assert {k: v for k, v in first.items() if k != "cached"} == {k: v for k, v in second.items() if k != "cached"}


def test_bad_level_is_400_naming_the_field(slate, user_client):
    response = user_client.get(url(slate["predictions"][0].pk, "verbose"))
    assert response.status_code == 400
    assert "level" in response.json()["error"]["fields"]


def test_unknown_prediction_is_404(slate, user_client):
    assert user_client.get(url(999_999)).status_code == 404


def test_anonymous_is_401(slate, api_client):
    assert api_client.get(url(slate["predictions"][0].pk)).status_code == 401
    assert api_client.post("/api/explanations/batch/", {"prediction_ids": [1]}, format="json").status_code == 401


def test_shadow_prediction_is_404_for_a_user(slate, user_client):
    from predictions.models import Prediction

    prediction = slate["predictions"][0]
    Prediction.objects.filter(pk=prediction.pk).update(shadow=True)
    assert user_client.get(url(prediction.pk)).status_code == 404


def test_another_users_explanation_job_is_404(slate, user_client, other_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = user_client.post(
            "/api/explanations/jobs/", {"prediction_ids": [slate["predictions"][0].pk]}, format="json"
        ).json()
    assert user_client.get(f"/api/jobs/{job['id']}/").status_code == 200
    assert other_client.get(f"/api/jobs/{job['id']}/").status_code == 404


def test_a_new_model_version_never_serves_an_old_explanation(
    slate, user_client, register_models, staff_user, django_capture_on_commit_callbacks
):
    from predictions import services
    from predictions.models import Prediction

    old = slate["predictions"][0]
    before = user_client.get(url(old.pk, "fast")).json()
    new_version = register_models()
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version_id=new_version.pk, user=staff_user, reason="test")
    services.slate_predict(sport="nba", date=slate["upcoming"][0].date)
    new = Prediction.objects.get(prop_line=old.prop_line, model_version=new_version)
    after = user_client.get(url(new.pk, "fast")).json()
    assert after["cached"] is False
    assert after["model_version"]["id"] == new_version.pk != before["model_version"]["id"]
    # Same prop, same features, same line and odds: only the version differs, and every key has it.
    assert any(f"expl:{new_version.pk}:" in key for key in _cache_keys())


def _cache_keys():
    cache = explanations_cache()
    return [key.split(":", 2)[-1] for key in getattr(cache, "_cache", {})]


def test_batch_explains_in_order_and_names_unknown_rows(slate, user_client):
    ids = [p.pk for p in slate["predictions"][:5]] + [999_999]
    body = user_client.post("/api/explanations/batch/", {"prediction_ids": ids}, format="json").json()
    assert [e["prediction"]["id"] for e in body["explanations"]] == ids[:5]
    assert body["errors"] == [{"row": 5, "prediction": 999_999, "code": "not_found", "message": "No such prediction."}]


def test_batch_over_1000_is_413(slate, user_client):
    response = user_client.post("/api/explanations/batch/", {"prediction_ids": list(range(1, 1002))}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many"


def test_what_if_without_changes_returns_the_same_prediction(slate, user_client):
    prediction = slate["predictions"][2]
    body = user_client.post(
        "/api/explanations/what-if/", {"prediction": prediction.pk, "changes": {}}, format="json"
    ).json()
    assert body["after"]["mean"] == pytest.approx(prediction.mean, rel=1e-6)
    assert body["after"]["p_over"] == pytest.approx(prediction.p_over, abs=1e-6)
    assert body["after"]["edge"] == pytest.approx(prediction.edge, abs=1e-6)
    assert all(v == pytest.approx(0, abs=1e-12) for v in body["change"].values() if v is not None)


def test_what_if_moves_the_price_and_warns_outside_the_training_range(slate, user_client):
    prediction = slate["predictions"][0]
    feature = "points_last40"
    body = user_client.post(
        "/api/explanations/what-if/",
        {"prediction": prediction.pk, "changes": {feature: 400.0}},
        format="json",
    ).json()
    assert body["changes"] == {feature: 400.0}
    assert body["change"]["mean"] != 0 and body["after"]["p_over"] != body["before"]["p_over"]
    assert body["warnings"] and body["warnings"][0]["feature"] == feature
    assert body["explanation"]["outputs"]["mean"]["value"] == pytest.approx(body["after"]["mean"], rel=1e-9)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"no_such_feature": 1.0}, "changes.no_such_feature"), ({"points_last5": "many"}, "changes.points_last5")],
)
def test_what_if_rejects_unknown_features_and_wrong_types(slate, user_client, changes, field):
    response = user_client.post(
        "/api/explanations/what-if/", {"prediction": slate["predictions"][0].pk, "changes": changes}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_detailed_job_fills_the_cache_and_reports_progress(
    slate, user_client, fresh_broker, django_capture_on_commit_callbacks
):
    from live.backends import get_broker

    pk = slate["predictions"][0].pk
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(
            "/api/explanations/jobs/", {"prediction_ids": [pk], "level": "detailed"}, format="json"
        )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded" and job.result["explained"] == 1
    # queued, running, progress, succeeded: each pushed on the job's topic.
    assert get_broker().history.current(f"jobs.{job.id}") >= 3
    assert user_client.get(url(pk, "detailed")).json()["cached"] is True


def test_global_insight_job_stores_and_plots(slate, staff_client, user_client, django_capture_on_commit_callbacks):
    version = slate["version"]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/api/explanations/insight-jobs/", {"model_version": version.pk}, format="json")
    assert response.status_code == 202
    insight = GlobalInsight.objects.get(model_version=version)
    assert len(insight.importance) == 20 and insight.additivity_max_error < 1e-3
    values = [row["mean_abs_mean"] for row in insight.importance]
    assert values == sorted(values, reverse=True) and values[0] > 0
    png = user_client.get(f"/api/explanations/plots/importance/{version.pk}.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"
    feature = next(iter(insight.dependence))
    svg = user_client.get(f"/api/explanations/plots/dependence/{version.pk}/{feature}.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert user_client.post("/api/explanations/insight-jobs/", {"model_version": version.pk}).status_code == 403


def test_waterfall_plot_png_and_svg(slate, user_client):
    pk = slate["predictions"][0].pk
    png = user_client.get(f"/api/explanations/plots/waterfall/{pk}.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    svg = user_client.get(f"/api/explanations/plots/waterfall/{pk}.svg?output=p_over")
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert user_client.get(f"/api/explanations/plots/waterfall/{pk}.gif").status_code == 400


def test_activation_precomputes_todays_fast_explanations(
    slate, register_models, staff_user, monkeypatch, django_capture_on_commit_callbacks
):
    from explanations.services import jobs

    monkeypatch.setattr(jobs, "_today", lambda: slate["upcoming"][0].date)
    new_version = register_models()
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version_id=new_version.pk, user=staff_user, reason="test")
    job = Job.objects.get(kind="explanations.slate_precompute")
    assert job.status == "succeeded", job.error
    assert job.owner == staff_user and job.params["activated_version_id"] == new_version.pk
    shown = len(slate["predictions"])
    assert job.result["predictions"] == job.result["explained"] == shown
    keys = _cache_keys()
    assert sum(key.endswith(":fast") for key in keys) == shown


def test_metrics_count_served_explanations_cache_hits_and_time_per_level(slate, user_client, client):
    pk = slate["predictions"][0].pk
    user_client.get(url(pk, "fast"))
    user_client.get(url(pk, "fast"))
    body = client.get("/metrics").content.decode()
    assert 'a1_explanations_served_total{level="fast",source="fresh"}' in body
    assert 'a1_explanations_cache_hits_total{level="fast"}' in body
    assert 'a1_explanation_seconds_count{level="fast"}' in body


def test_admin_lists_background_samples_and_insights(slate, user_client, staff_user, client, password):
    user_client.get(url(slate["predictions"][0].pk))
    client.login(username=staff_user.username, password=password)
    page = client.get("/admin/explanations/backgroundsample/")
    assert page.status_code == 200 and slate["version"].name in page.content.decode()
    sample = BackgroundSample.objects.get()
    detail = client.get(f"/admin/explanations/backgroundsample/{sample.pk}/change/")
    assert detail.status_code == 200 and "Sampled on first use" in detail.content.decode()
    assert client.get("/admin/explanations/globalinsight/").status_code == 200


def test_models_page_shows_the_global_view(slate, client, staff_user, password):
    from explanations.services import global_insight_compute

    global_insight_compute(version_id=slate["version"].pk)
    client.login(username=staff_user.username, password=password)
    page = client.get("/models/").content.decode()
    assert 'data-testid="global-insight"' in page
    assert f'data-testid="importance-plot-{slate["version"].pk}"' in page


def test_training_stores_the_new_ensembles_background_sample_with_it(db):
    """A version trained by the predictions app gets its background sample at training time
    (source ``training``), from the rows it was fitted on, not on its first explanation."""
    import io

    from django.core.management import call_command

    from predictions import services

    call_command(
        "load_demo", "--small", "--no-progress", "--as-of", "2026-11-26", "--sport", "nba", stdout=io.StringIO()
    )
    summary = services.models_train(sport="nba", stat="points", quick=True)

    ensemble = next(item for item in summary["trained"] if item["name"] == "nba.points.ensemble")
    sample = BackgroundSample.objects.get(model_version_id=ensemble["id"])
    assert sample.source == "training" and sample.n_rows >= 20
