"""The demo odds feed (manage.py demo_odds_feed): written for the demo's own slate, repeatable
for a seed, and replaying it moves the demo's predictions and can raise an edge alert."""

from __future__ import annotations

import io
import json
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from live.backends import get_broker
from live.models import AlertPreference, OddsTick
from live.services import odds_feed_parse
from predictions import services
from predictions.engine.simulate import BOOKS
from predictions.models import Player, Prediction, PropLine
from predictions.services import demo_odds, demo_slate

from .conftest import MINI_UPCOMING

pytestmark = pytest.mark.django_db

FEED_BOOKS = {demo_slate.DEMO_SLATE_BOOK, *BOOKS}


def write_feed(path, *args) -> str:
    call_command("demo_odds_feed", str(path), *args, stdout=io.StringIO())
    return path.read_text()


def messages(topic: str) -> list[dict]:
    return [json.loads(text) for _, text in get_broker().history._rings.get(topic, ())]


def test_the_feed_names_only_the_demo_slates_games_players_stats_and_books_and_repeats_for_a_seed(tmp_path):
    call_command("load_demo", "--small", "--no-progress", "--sport", "nba", stdout=io.StringIO(), stderr=io.StringIO())
    today = timezone.now().date()
    demo_slate.demo_slate_create(sport="nba", date=today)

    first = write_feed(tmp_path / "a.csv", "--sport", "nba", "--seed", "2", "--minutes", "10", "--props", "15")
    again = write_feed(tmp_path / "b.csv", "--sport", "nba", "--seed", "2", "--minutes", "10", "--props", "15")
    other = write_feed(tmp_path / "c.csv", "--sport", "nba", "--seed", "3", "--minutes", "10", "--props", "15")

    assert first == again and first != other
    assert first.startswith("# A1 DEMO ODDS FEED - SIMULATED DATA, NOT REAL MARKET PRICES.")
    ticks = odds_feed_parse(text=first)
    slate = {
        (game, player_id, stat): name
        for game, player_id, stat, name in PropLine.objects.filter(
            game__date=today, book=demo_slate.DEMO_SLATE_BOOK
        ).values_list("game__external_id", "player__external_id", "stat", "player__name")
    }
    assert len({(t.game, t.player_id, t.stat) for t in ticks}) == 15
    for tick in ticks:
        assert tick.sport == "nba" and tick.game.startswith(f"SLATE-{today:%Y%m%d}-")
        assert slate[(tick.game, tick.player_id, tick.stat)] == tick.player
        assert tick.simulated
    # live keeps feed book names in lower case; they are the demo's books.
    assert {t.book for t in ticks} == {book.lower() for book in FEED_BOOKS}


def test_a_day_without_a_demo_slate_is_a_command_error_that_says_how_to_post_one(tmp_path):
    with pytest.raises(CommandError, match="predict_slate --sport nhl --date 2026-01-02 --demo-slate"):
        write_feed(tmp_path / "feed.csv", "--sport", "nhl", "--date", "2026-01-02")
    assert not (tmp_path / "feed.csv").exists()


@pytest.fixture
def demo_like_slate(served):
    """The mini league's upcoming props as the demo's slate: posted by the demo slate's book."""
    PropLine.objects.update(book=demo_slate.DEMO_SLATE_BOOK)
    return served


@pytest.mark.usefixtures("fresh_broker")
def test_replaying_the_feed_stores_scored_quotes_publishes_prediction_updates_and_alerts_an_edge(
    demo_like_slate, tmp_path, django_capture_on_commit_callbacks, user
):
    services.slate_predict(sport="nba", date=MINI_UPCOMING)  # the nightly run scored the posted quotes
    posted = set(PropLine.objects.values_list("pk", flat=True))
    feed = tmp_path / "feed.csv"
    write_feed(feed, "--sport", "nba", "--date", MINI_UPCOMING.isoformat(), "--props", "8")
    rows = odds_feed_parse(text=feed.read_text())
    # A threshold above every fed prop's edge before the replay: an alert is the feed's doing.
    best_before = max(
        Prediction.objects.filter(player__external_id__in={row.player_id for row in rows}).values_list(
            "edge", flat=True
        )
    )
    threshold = Decimal(str(round(best_before, 4))) + Decimal("0.0001")
    AlertPreference.objects.create(user=user, min_edge=threshold)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_odds", str(feed), "--speed", "max", stdout=io.StringIO())

    assert OddsTick.objects.count() == len(rows) and not OddsTick.objects.filter(simulated=False).exists()
    quotes = PropLine.objects.exclude(pk__in=posted)
    assert quotes.count() == len(rows), "every tick is a quote of a slate prop"
    # The slate's book stays one book: live lowercases feed books, the quote keeps the slate's name.
    books = set(quotes.values_list("book", flat=True))
    assert demo_slate.DEMO_SLATE_BOOK in books and demo_slate.DEMO_SLATE_BOOK.lower() not in books
    assert not quotes.filter(simulated=False).exists()
    version = demo_like_slate["version"]
    assert Prediction.objects.filter(prop_line__in=quotes, model_version=version).count() == len(rows)

    updates = messages("predictions.nba")
    assert updates and {m["type"] for m in updates} == {"prediction.updated"}
    names = {row.player for row in rows}
    assert {m["data"]["player"] for m in updates} <= names
    assert all(m["data"]["simulated"] and 0 <= m["data"]["p_over"] <= 1 for m in updates)
    one = updates[0]["data"]
    assert messages(f"predictions.player.{one['player_id']}")
    assert Player.objects.get(pk=one["player_id"]).external_id == one["player_external_id"]

    edge_alerts = [m for m in messages(f"alerts.{user.pk}") if m["type"] == "alert.edge"]
    assert edge_alerts, "a book's move took some prop's best edge across the user's threshold"
    assert all(m["data"]["edge"] >= threshold and m["data"]["simulated"] for m in edge_alerts)
    assert len({(m["data"]["game"], m["data"]["player_id"]) for m in edge_alerts}) == len(edge_alerts)


@pytest.mark.usefixtures("fresh_broker")
def test_the_in_process_player_ingests_the_same_feed_stamped_now_and_rescores_quotes(
    demo_like_slate, tmp_path, django_capture_on_commit_callbacks
):
    feed = tmp_path / "feed.csv"
    write_feed(feed, "--sport", "nba", "--date", MINI_UPCOMING.isoformat(), "--props", "8", "--minutes", "5")
    rows = odds_feed_parse(text=feed.read_text())
    started = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        played = demo_odds.demo_odds_feed_play(
            stop=threading.Event(), speed=1e6, date=MINI_UPCOMING, minutes=5, props_per_sport=8, passes=1
        )

    # The same ticks as `demo_odds_feed` writes, each stamped with the moment it went in.
    assert played == len(rows) == OddsTick.objects.count()
    stored = list(OddsTick.objects.order_by("id"))
    key = lambda t: (t.game, t.player_id, t.stat, t.book, t.line, t.over_odds, t.under_odds)  # noqa: E731
    assert sorted(map(key, rows)) == sorted(
        (t.game_external_id, t.player_external_id, t.stat, t.book, t.line, t.over_odds, t.under_odds) for t in stored
    )
    assert all(t.simulated and t.source == OddsTick.Source.REPLAY and t.ts >= started for t in stored)
    assert messages("odds.nba") and messages("predictions.nba")
    assert all(m["data"]["simulated"] for m in messages("predictions.nba"))


def test_the_player_waits_without_a_slate_and_stops_when_asked(monkeypatch):
    stop = threading.Event()
    waits = []

    def wait(seconds):
        waits.append(seconds)
        stop.set()
        return True

    monkeypatch.setattr(stop, "wait", wait)
    assert demo_odds.demo_odds_feed_play(stop=stop, speed=10, date=MINI_UPCOMING) == 0
    assert waits == [demo_odds.NO_SLATE_RETRY_S]


def test_the_server_start_up_hook_is_off_when_the_setting_is(settings):
    settings.A1_DEMO_ODDS_FEED = False
    assert demo_odds.demo_odds_feed_start() is None
