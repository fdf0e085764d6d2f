"""predict_slate scores every priced prop of a slate; the demo slate is upcoming and repeatable."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from predictions.models import Game, Prediction, PropFeatures, PropLine, Result

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("predict_slate", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_predict_slate_scores_and_stores_every_priced_prop_once(served):
    date = served["upcoming"][0].date.isoformat()
    out = run("--sport", "nba", "--date", date)

    assert "20 of 20 props scored" in out
    predictions = Prediction.objects.filter(prop_line__isnull=False)
    assert predictions.count() == 20
    assert set(predictions.values_list("model_version_id", flat=True)) == {served["version"].pk}
    assert not predictions.filter(edge__isnull=True).exists()
    assert PropFeatures.objects.count() == 20
    first = {p.pk: (p.p_over, p.edge) for p in predictions}

    run("--sport", "nba", "--date", date)

    assert {p.pk: (p.p_over, p.edge) for p in Prediction.objects.all()} == first


def test_a_slate_prediction_equals_the_api_prediction_of_the_same_prop(served, user_client):
    run("--sport", "nba", "--date", served["upcoming"][0].date.isoformat())
    stored = Prediction.objects.filter(prop_line__isnull=False).select_related("prop_line").first()
    body = user_client.post(
        "/api/predictions/",
        {
            "sport": "nba",
            "stat": "points",
            "player": stored.player_id,
            "game": stored.game_id,
            "line": stored.line,
            "over_decimal_odds": stored.over_decimal_odds,
            "under_decimal_odds": stored.under_decimal_odds,
        },
        format="json",
    ).json()
    # float32 network: a row alone and in a batch may round differently in the last bits.
    assert body["p_over"] == pytest.approx(stored.p_over, abs=1e-6)
    assert body["edge"] == pytest.approx(stored.edge, abs=1e-6)


def test_the_demo_slate_is_today_unsettled_simulated_and_repeatable(db, register_models):
    call_command("load_demo", "--small", "--no-progress", "--sport", "nba", stdout=io.StringIO(), stderr=io.StringIO())
    register_models()
    today = timezone.now().date()

    out = run("--sport", "nba", "--date", "today", "--demo-slate")

    slate = PropLine.objects.filter(game__date=today)
    assert slate.exists() and not slate.filter(simulated=False).exists()
    assert not Result.objects.filter(game__date=today).exists()
    assert Game.objects.filter(date=today, external_id__startswith="SLATE-").count() == 4
    points = slate.filter(stat="points").count()
    assert f"{points:,} of {slate.count():,} props scored" in out
    assert Prediction.objects.filter(prop_line__in=slate).count() == points
    counts = (slate.count(), Prediction.objects.count())

    run("--sport", "nba", "--date", "today", "--demo-slate")

    assert (PropLine.objects.filter(game__date=today).count(), Prediction.objects.count()) == counts


def test_the_demo_book_prices_only_players_who_played_their_teams_latest_game(db):
    from predictions.models import StatLine
    from predictions.services import demo_slate

    today = dt.date(2026, 11, 26)
    call_command("load_demo", "--small", "--no-progress", "--sport", "nba", "--as-of", f"{today}", stdout=io.StringIO())
    latest = {}
    for team, day in StatLine.objects.filter(game__date__lt=today).values_list("team_id", "game__date"):
        latest[team] = max(day, latest.get(team, day))
    played = set()
    for player, team, day in StatLine.objects.values_list("player_id", "team_id", "game__date"):
        if latest.get(team) == day:
            played.add(player)
    # The last game's absentees who still clear the prop threshold on their history.
    out = set(
        PropLine.objects.filter(game__sport__code="nba", player__team_id__in=latest)
        .exclude(player_id__in=played)
        .values_list("player_id", flat=True)
    )
    assert out, "the small league should have a priced player who missed his team's latest game"

    demo_slate.demo_slate_create(sport="nba", date=today)

    priced = set(PropLine.objects.filter(game__date=today).values_list("player_id", flat=True))
    assert priced and priced <= played and not priced & out


def test_an_unknown_date_is_a_command_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run("--sport", "nba", "--date", "yesterday-ish")


def test_the_nightly_slate_is_on_the_beat_schedule():
    from a1site.celery import app
    from predictions.tasks import predict_slates_task

    entry = app.conf.beat_schedule["predictions.nightly_slate"]
    assert entry["task"] == predict_slates_task.name == "predictions.predict_slates"


def test_a_large_slate_refreshes_the_query_planners_statistics(served, monkeypatch):
    """Stale statistics after ~100,000 new predictions gave PostgreSQL a plan it JIT-compiled
    for 150 ms; a slate writing at least STATISTICS_AFTER_ROWS rows runs ANALYZE."""
    from django.db import connection

    from predictions import services, writes

    def predictions_analyzed() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if not cursor.fetchone():
                return False
            cursor.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'predictions_prediction'")
            return cursor.fetchone() is not None

    assert not predictions_analyzed()
    monkeypatch.setattr(writes, "STATISTICS_AFTER_ROWS", 5)
    assert services.slate_predict(sport="nba", date=served["upcoming"][0].date)["stored"] >= 5
    assert predictions_analyzed()
