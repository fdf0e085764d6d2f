"""Odds ticks into predictions: quotes, scoring, predictions.* messages and edge alerts that
fire once when a prop's best edge crosses a user's threshold (predictions.services.odds_ticks)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from live.backends import get_broker
from live.models import AlertPreference, OddsTick
from predictions import receivers, services
from predictions.models import Prediction, PropLine
from predictions.services import odds_ticks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_broker")]


def messages(topic: str) -> list[dict]:
    return [json.loads(text) for _, text in get_broker().history._rings.get(topic, ())]


def tick(player, *, game="MU0", ts="2024-11-15T18:00:00Z", book="dk", line=15.5, over=1.91, under=1.91, **extra):
    return {
        "ts": ts,
        "sport": "nba",
        "game": game,
        "player": player.name if hasattr(player, "name") else str(player),
        "player_id": player.external_id if hasattr(player, "external_id") else str(player),
        "stat": "points",
        "book": book,
        "line": line,
        "over_odds": over,
        "under_odds": under,
        **extra,
    }


@pytest.fixture
def post_ticks(staff_client, django_capture_on_commit_callbacks):
    """POST ticks to /api/odds/ and run what waits for the commit (publishing, the task)."""

    def post(*ticks):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post("/api/odds/", {"ticks": list(ticks)}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return post


def starter_of(game, served):
    return next(p for p in served["players"] if p.team_id == game.home_team_id and p.role == "starter")


def test_a_tick_for_a_known_prop_stores_its_quote_and_a_scored_prediction(served, post_ticks):
    game = served["upcoming"][0]
    player = starter_of(game, served)

    post_ticks(tick(player, line=16.5, over=1.87, under=1.95))

    quote = PropLine.objects.get(game=game, player=player, book="dk")
    assert (quote.line, quote.over_decimal_odds, quote.under_decimal_odds) == (16.5, 1.87, 1.95)
    assert quote.seen_at == dt.datetime(2024, 11, 15, 18, tzinfo=dt.UTC)
    assert quote.simulated, "the mini league is simulated, so its quotes are"
    prediction = Prediction.objects.get(prop_line=quote)
    assert prediction.model_version_id == served["version"].pk
    assert prediction.source == Prediction.Source.SLATE and not prediction.shadow
    assert prediction.line == 16.5 and prediction.edge is not None

    [by_sport] = [m for m in messages("predictions.nba") if m["data"]["prop_id"] == quote.pk]
    [by_player] = messages(f"predictions.player.{player.pk}")
    assert by_sport["type"] == by_player["type"] == "prediction.updated"
    data = by_player["data"]
    assert data["prediction_id"] == prediction.pk and data["player"] == player.name
    assert data["stat"] == "points" and data["line"] == 16.5 and data["book"] == "dk"
    assert (data["over_decimal_odds"], data["under_decimal_odds"]) == (1.87, 1.95)
    assert data["p_over"] == pytest.approx(prediction.p_over) and data["edge"] == pytest.approx(prediction.edge)
    assert data["model_version"] == {
        "id": served["version"].pk,
        "name": "nba.points.ensemble",
        "version": served["version"].version,
    }
    assert data["simulated"] is True


@pytest.mark.parametrize(
    ("speed", "published_lines"),
    [
        ("100000x", [15.5, 16.5]),  # a call per timestamp: each quote is news
        ("max", [16.5]),  # one call: the book's first quote was superseded within it
    ],
)
def test_a_replayed_feed_quotes_and_scores_its_ticks(
    served, tmp_path, django_capture_on_commit_callbacks, speed, published_lines
):
    game = served["upcoming"][1]
    player = starter_of(game, served)
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "ts,sport,game,player,player_id,stat,book,line,over_odds,under_odds\n"
        f"2024-11-15T18:00:00Z,nba,{game.external_id},{player.name},{player.external_id},points,fd,15.5,1.90,1.92\n"
        f"2024-11-15T18:05:00Z,nba,{game.external_id},{player.name},{player.external_id},points,fd,16.5,1.95,1.87\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_odds", str(feed), "--speed", speed)

    quotes = PropLine.objects.filter(game=game, player=player, book="fd").order_by("seen_at")
    assert [q.line for q in quotes] == [15.5, 16.5]
    assert Prediction.objects.filter(prop_line__in=quotes, model_version=served["version"]).count() == 2
    assert [m["data"]["line"] for m in messages(f"predictions.player.{player.pk}")] == published_lines


def alerts(user) -> list[dict]:
    return [m for m in messages(f"alerts.{user.pk}") if m["type"] == "alert.edge"]


def test_an_edge_alert_fires_once_when_the_best_edge_crosses_a_users_threshold(
    served, post_ticks, user, other_user, make_user
):
    day = served["upcoming"][0].date
    services.slate_predict(sport="nba", date=day)  # the nightly run: the book's quotes are scored
    # A prop whose posted quote is well inside everyone's threshold.
    calm = (
        Prediction.objects.filter(prop_line__isnull=False, edge__lt=0.1)
        .select_related("player", "game")
        .order_by("edge", "pk")
        .first()
    )
    player, game = calm.player, calm.game
    AlertPreference.objects.create(user=user, min_edge="0.2")
    AlertPreference.objects.create(user=other_user, min_edge="0.5")
    no_preferences = make_user("carol")

    def best_edge():
        latest = {}
        for prediction in Prediction.objects.filter(game=game, player=player, stat="points").select_related(
            "prop_line"
        ):
            quote = prediction.prop_line
            if quote.book not in latest or quote.seen_at > latest[quote.book][0]:
                latest[quote.book] = (quote.seen_at, prediction.edge)
        return max(edge for _, edge in latest.values())

    # Both sides priced at 1.01: a poor bet, the best edge stays the book's.
    post_ticks(tick(player, game=game.external_id, ts="2024-11-15T18:00:00Z", over=1.01, under=1.01))
    assert best_edge() < 0.2
    assert alerts(user) == []
    p_over = Prediction.objects.get(prop_line__book="dk", prop_line__player=player).p_over

    def paying(edge: float) -> float:
        """One price for both sides that gives the model's favourite side this edge. Equal
        prices put the book at even odds, as the 1.01/1.01 quote did, so the model's price
        (pooled with the book's, engine.calibration) stays the one just stored (a half line:
        no push)."""
        return round((1 + edge) / max(p_over, 1 - p_over), 3)

    # A price with a 30% edge: above alice's 20%, below bob's 50%.
    post_ticks(tick(player, game=game.external_id, ts="2024-11-15T18:01:00Z", over=paying(0.3), under=paying(0.3)))
    assert 0.2 <= best_edge() < 0.5
    [alert] = alerts(user)
    assert alert["topic"] == "alerts"
    assert alert["data"]["player"] == player.name and alert["data"]["book"] == "dk"
    assert alert["data"]["edge"] == pytest.approx(best_edge())
    assert alert["data"]["previous_edge"] < 0.2 and alert["data"]["threshold"] == 0.2
    assert alert["data"]["simulated"] is True
    assert alerts(other_user) == [] and alerts(no_preferences) == []

    # Still above 20%: no second alert.
    post_ticks(tick(player, game=game.external_id, ts="2024-11-15T18:02:00Z", over=paying(0.35), under=paying(0.35)))
    assert best_edge() >= 0.2
    assert len(alerts(user)) == 1

    # Just below (within REARM_MARGIN of 20 %), then above again: a flapping price, no new alert.
    post_ticks(tick(player, game=game.external_id, ts="2024-11-15T18:03:00Z", over=paying(0.195), under=paying(0.195)))
    assert 0.19 <= best_edge() < 0.2
    post_ticks(tick(player, game=game.external_id, ts="2024-11-15T18:04:00Z", over=paying(0.3), under=paying(0.3)))
    assert len(alerts(user)) == 1

    # Well below, then above again: a new crossing, a new alert.
    post_ticks(tick(player, game=game.external_id, ts="2024-11-15T18:05:00Z", over=1.01, under=1.01))
    post_ticks(tick(player, game=game.external_id, ts="2024-11-15T18:06:00Z", over=paying(0.3), under=paying(0.3)))
    assert len(alerts(user)) == 2
    assert alerts(other_user) == []


def test_ticks_of_unknown_players_games_and_stats_are_skipped_and_counted(served, post_ticks):
    game = served["upcoming"][0]
    player = starter_of(game, served)
    quotes = PropLine.objects.count()

    body = post_ticks(
        tick("Nobody", game=game.external_id),
        tick(player, game="no-such-game"),
        tick(player, game=game.external_id, stat="touchdowns"),
        tick(player, game=game.external_id, player_id=""),
    )

    assert body["ingested"] == 4 and OddsTick.objects.count() == 4
    assert PropLine.objects.count() == quotes and not Prediction.objects.exists()
    assert messages("predictions.nba") == []
    summary = odds_ticks.odds_ticks_apply(tick_ids=list(OddsTick.objects.values_list("pk", flat=True)))
    assert summary["quotes"] == 0 and summary["skipped"] == 4
    assert summary["skipped_by"] == {"player_id": 2, "game_id": 1, "stat": 1}


def test_a_batch_costs_the_same_queries_whatever_its_size(served, post_ticks):
    game = served["upcoming"][0]
    players = [p for p in served["players"] if p.team_id in (game.home_team_id, game.away_team_id)]
    post_ticks(*[tick(p, ts="2024-11-15T18:00:00Z", book="warmup") for p in players])

    def queries_for(ts: str, count: int) -> int:
        stored = [
            OddsTick.objects.create(
                sport="nba",
                game_external_id=game.external_id,
                player_name=p.name,
                player_external_id=p.external_id,
                stat="points",
                book="dk",
                line=15.5,
                over_odds=1.9,
                under_odds=1.9,
                ts=dt.datetime.fromisoformat(ts),
            )
            for p in players[:count]
        ]
        with CaptureQueriesContext(connection) as captured:
            summary = odds_ticks.odds_ticks_apply(tick_ids=[t.pk for t in stored])
        assert summary["published"] == count
        return len(captured)

    assert queries_for("2024-11-15T18:01:00+00:00", 2) == queries_for("2024-11-15T18:02:00+00:00", 10)


def test_no_production_model_stores_the_quote_and_publishes_nothing(mini_league, post_ticks):
    game = mini_league["upcoming"][0]
    player = starter_of(game, mini_league)

    post_ticks(tick(player))

    assert PropLine.objects.filter(game=game, player=player, book="dk").exists()
    assert not Prediction.objects.exists()
    assert messages("predictions.nba") == []


def test_a_quote_is_simulated_when_its_tick_or_its_game_is(served, post_ticks):
    from predictions.models import Game, Player

    game = served["upcoming"][0]
    home, away = (starter_of(game, served), next(p for p in served["players"] if p.team_id == game.away_team_id))
    Game.objects.update(simulated=False)
    Player.objects.update(simulated=False)

    post_ticks(tick(home, book="real"), tick(away, book="sim", simulated=True))

    assert not PropLine.objects.get(player=home, book="real").simulated
    assert PropLine.objects.get(player=away, book="sim").simulated
    assert [m["data"]["simulated"] for m in messages(f"predictions.player.{home.pk}")] == [False]
    assert [m["data"]["simulated"] for m in messages(f"predictions.player.{away.pk}")] == [True]

    Game.objects.filter(pk=game.pk).update(simulated=True)
    post_ticks(tick(home, book="real", ts="2024-11-15T18:05:00Z"))

    assert PropLine.objects.get(player=home, book="real", seen_at__minute=5).simulated


def test_a_large_batch_is_split_into_tasks_and_every_tick_is_applied(served, post_ticks, monkeypatch):
    monkeypatch.setattr(receivers, "TASK_TICKS", 2)
    game = served["upcoming"][0]
    player = starter_of(game, served)

    post_ticks(*[tick(player, ts=f"2024-11-15T18:0{minute}:00Z", line=14.5 + minute) for minute in range(5)])

    quotes = PropLine.objects.filter(player=player, book="dk")
    assert sorted(quotes.values_list("line", flat=True)) == [14.5, 15.5, 16.5, 17.5, 18.5]
    assert Prediction.objects.filter(prop_line__in=quotes).count() == 5


def test_a_failure_in_predictions_is_logged_and_the_ticks_stay_stored(served, post_ticks, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("scoring is down")

    monkeypatch.setattr(odds_ticks, "slate_predict", broken)
    player = starter_of(served["upcoming"][0], served)

    body = post_ticks(tick(player))

    assert body["ingested"] == 1 and OddsTick.objects.count() == 1
    assert messages("odds.nba"), "the tick itself was published"
    assert "applying 1 tick(s) to predictions failed" in caplog.text
    assert "scoring is down" in caplog.text
