"""Grading: settled props → live metrics, ensemble weights, drift; triggers; shadows."""

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from a1site.audit.models import AuditEvent
from predictions import grading, services
from predictions.models import (
    DriftWarning,
    EnsembleWeights,
    LiveMetricsSnapshot,
    ModelLiveMetrics,
    Prediction,
    PropLine,
    Result,
    StatLine,
)
from predictions.serving import service

pytestmark = pytest.mark.django_db


def price_past_games(served, *, results: bool = True):
    """A points prop at 10.5 on every played stat line, settled by the line's value."""
    seen = timezone.make_aware(dt.datetime(2024, 1, 1, 12), dt.UTC)
    lines = list(StatLine.objects.select_related("game").order_by("game__date", "game_id", "player_id"))
    props = PropLine.objects.bulk_create(
        [
            PropLine(
                game=line.game,
                player_id=line.player_id,
                stat="points",
                book="MiniBook",
                line=10.5,
                over_decimal_odds=1.91,
                under_decimal_odds=1.91,
                seen_at=seen,
                simulated=True,
            )
            for line in lines
        ]
    )
    if results:
        Result.objects.bulk_create(
            [
                Result(game=line.game, player_id=line.player_id, stat="points", value=line.stats["points"])
                for line in lines
            ]
        )
    return props, lines


def constructed_predictions(served, *, xgboost_right: float, torch_right: float, ensemble_right: float):
    """Predictions of every past prop whose members put the given probability on what happened."""
    props, lines = price_past_games(served)
    version = served["version"]
    rows = []
    for prop, line in zip(props, lines, strict=True):
        went_over = line.stats["points"] > prop.line

        def prices(right):
            p_over = right if went_over else 1 - right
            return [p_over, 1 - p_over]

        p_over, p_under = prices(ensemble_right)
        rows.append(
            Prediction(
                prop_line=prop,
                game_id=prop.game_id,
                player_id=prop.player_id,
                stat="points",
                line=prop.line,
                over_decimal_odds=1.91,
                under_decimal_odds=1.91,
                model_version=version,
                source=Prediction.Source.SLATE,
                mean=10.0,
                p_over=p_over,
                p_under=p_under,
                p_push=0.0,
                member_probabilities={"xgboost": prices(xgboost_right), "torch": prices(torch_right)},
                feature_hash="x",
            )
        )
    Prediction.objects.bulk_create(rows)
    return rows


def test_grading_updates_live_metrics_of_the_version_and_each_member(served):
    price_past_games(served)
    services.slate_predict(sport="nba", date=served["games"][0].date, through=served["games"][-1].date)
    scored = Prediction.objects.filter(prop_line__isnull=False)
    assert scored.count() == StatLine.objects.count()

    summary = grading.props_grade()

    assert summary["graded"] == scored.count()
    graded = scored.exclude(outcome=Prediction.Outcome.PUSH)
    metrics = ModelLiveMetrics.objects.get(model_version=served["version"], member="")
    assert metrics.n_graded == graded.count()
    assert metrics.log_loss == pytest.approx(np.mean([p.log_loss for p in graded]))
    assert metrics.brier == pytest.approx(np.mean([p.brier for p in graded]))
    assert metrics.hit_rate == pytest.approx(np.mean([p.hit for p in graded]))
    members = ModelLiveMetrics.objects.filter(model_version=served["version"]).exclude(member="")
    assert {m.member for m in members} == {"xgboost", "torch"} and all(m.n_graded == metrics.n_graded for m in members)
    assert LiveMetricsSnapshot.objects.filter(model_version=served["version"], member="").count() == 1
    # Idempotent: nothing left to grade.
    assert grading.props_grade()["graded"] == 0


def test_ensemble_weights_move_toward_the_better_member_and_serving_follows(
    served, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(grading, "WEIGHTS_MIN_GRADED", 20)
    initial = served["version"].metrics["ensemble_weights"]
    before = service().production("nba", "points")
    constructed_predictions(served, xgboost_right=0.75, torch_right=0.45, ensemble_right=0.6)

    with django_capture_on_commit_callbacks(execute=True):
        summary = grading.props_grade()

    assert summary["weights_changed"]
    weights = EnsembleWeights.objects.get(model_version=served["version"])
    assert weights.weights["xgboost"] > initial["xgboost"] and weights.weights["torch"] < initial["torch"]
    assert sum(weights.weights.values()) == pytest.approx(1.0)
    assert weights.member_log_loss["xgboost"] < weights.member_log_loss["torch"]
    after = service().production("nba", "points")
    assert after.weights_id == weights.pk and before.weights_id is None
    np.testing.assert_allclose(after.ensemble.weights, [weights.weights[k] for k in after.member_kinds])


def test_a_member_that_does_better_later_wins_weight_back(served, monkeypatch):
    monkeypatch.setattr(grading, "WEIGHTS_MIN_GRADED", 20)
    monkeypatch.setattr(grading, "EWM_HALFLIFE", 10.0)
    constructed_predictions(served, xgboost_right=0.75, torch_right=0.45, ensemble_right=0.6)
    grading.props_grade()
    first = EnsembleWeights.objects.latest("created_at").weights
    Prediction.objects.all().delete()
    PropLine.objects.all().delete()
    Result.objects.all().delete()
    constructed_predictions(served, xgboost_right=0.40, torch_right=0.80, ensemble_right=0.6)
    grading.props_grade()
    latest = EnsembleWeights.objects.order_by("-id").first().weights
    assert latest["torch"] > first["torch"]


def test_drift_warning_is_raised_when_live_log_loss_exceeds_the_held_out_value(served, monkeypatch, client, staff_user):
    monkeypatch.setattr(grading, "DRIFT_MIN_GRADED", 20)
    constructed_predictions(served, xgboost_right=0.3, torch_right=0.3, ensemble_right=0.25)

    summary = grading.props_grade()

    assert summary["drift"] == [served["version"].pk]
    warning = DriftWarning.objects.get(cleared_at__isnull=True)
    assert warning.live_log_loss > warning.validation_log_loss + grading.DRIFT_MARGIN
    assert AuditEvent.objects.filter(action="model_version.drift", object_id=str(served["version"].pk)).exists()
    client.force_login(staff_user)
    assert "Drift: nba.points.ensemble" in client.get("/models/").content.decode()
    admin = client.get("/admin/predictions/driftwarning/")
    assert admin.status_code == 200 and "nba.points.ensemble" in admin.content.decode()


def test_a_results_import_grades_the_settled_props(served, django_capture_on_commit_callbacks):
    props, lines = price_past_games(served, results=False)
    services.slate_predict(sport="nba", date=served["games"][0].date, through=served["games"][-1].date)
    records = [
        {
            "sport": "nba",
            "game_id": line.game.external_id,
            "player_id": line.player.external_id,
            "stat": "points",
            "value": line.stats["points"],
        }
        for line in StatLine.objects.select_related("game", "player")[:30]
    ]

    with django_capture_on_commit_callbacks(execute=True):
        services.data_import(kind="results", records=records)

    assert Prediction.objects.filter(graded_at__isnull=False).count() == 30
    assert ModelLiveMetrics.objects.get(model_version=served["version"], member="").n_graded > 0


def test_the_live_game_final_signal_grades_that_game(served):
    live_signals = pytest.importorskip("live.signals")
    price_past_games(served)
    services.slate_predict(sport="nba", date=served["games"][0].date, through=served["games"][-1].date)
    game = served["games"][0]

    live_signals.game_final.send(sender=None, game={"sport": "nba", "game": game.external_id})

    graded = Prediction.objects.filter(graded_at__isnull=False)
    assert graded.count() == 10 and set(graded.values_list("game_id", flat=True)) == {game.pk}


def test_a_shadow_challenger_scores_the_same_props_unseen_and_is_compared(served, register_models, user_client):
    challenger = register_models()
    grading.shadow_start(version_id=challenger.pk)
    price_past_games(served)
    summary = services.slate_predict(sport="nba", date=served["games"][0].date, through=served["games"][-1].date)
    n = StatLine.objects.count()
    assert summary["scored"] == n and summary["shadow"] == n
    assert Prediction.objects.filter(model_version=challenger, shadow=True).count() == n

    shown = user_client.get("/api/props/?sport=nba&date=" + served["games"][0].date.isoformat()).json()
    assert all(item["prediction"]["model_version"]["id"] == served["version"].pk for item in shown["results"])

    grading.props_grade()
    comparison = grading.challenger_comparison(challenger_version_id=challenger.pk)
    assert comparison["champion"] == served["version"] and comparison["n"] > 0
    # Same artifacts: no difference, a zero-width interval around it.
    assert comparison["log_loss_difference"] == pytest.approx(0.0, abs=1e-9)
    assert comparison["log_loss_ci"][0] <= 0 <= comparison["log_loss_ci"][1]
    assert ModelLiveMetrics.objects.get(model_version=challenger, member="").n_graded == comparison["n"]


def test_shadow_start_and_stop_are_audited_swap_serving_and_refuse_production(
    served, register_models, django_capture_on_commit_callbacks
):
    from a1site.core.errors import ApplicationError

    with pytest.raises(ApplicationError):
        grading.shadow_start(version_id=served["version"].pk)
    challenger = register_models()
    assert service().models_for("nba", "points")[1] == []
    with django_capture_on_commit_callbacks(execute=True):
        grading.shadow_start(version_id=challenger.pk)
    assert [s.version_id for s in service().models_for("nba", "points")[1]] == [challenger.pk]
    with django_capture_on_commit_callbacks(execute=True):
        grading.shadow_stop(version_id=challenger.pk)
    assert service().models_for("nba", "points")[1] == []
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"model_version.shadow_start", "model_version.shadow_stop"} <= actions
