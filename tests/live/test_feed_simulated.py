"""The ``simulated`` label of odds ticks and game events: set by the feed, stored, listed by the
API, published, and carried to the predictions app."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from live.backends import get_broker
from live.models import GameEvent, OddsTick
from live.signals import odds_ticks_received
from tests.live.test_feeds_and_api import GAMES, SAMPLE, TICK  # noqa: E402 - the feed tests' samples


def published(topic: str) -> list[dict]:
    return [json.loads(text) for _, text in get_broker().history._rings.get(topic, ())]


@pytest.mark.django_db
def test_the_simulated_label_round_trips_through_the_api_and_the_messages(
    staff_client, user_client, django_capture_on_commit_callbacks
):
    batches = []
    odds_ticks_received.connect(lambda sender, ticks, **kw: batches.append(ticks), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(
                "/api/odds/",
                {
                    "ticks": [
                        {**TICK, "simulated": True},
                        {**TICK, "ts": "2026-11-26T23:01:00Z", "line": 28.5},
                        {**TICK, "ts": "2026-11-26T23:02:00Z", "game": "g2", "simulated": "yes"},
                    ]
                },
                format="json",
            )
    finally:
        odds_ticks_received.disconnect(dispatch_uid="t")

    assert response.status_code == 201, response.content
    assert [t["simulated"] for t in response.json()["ticks"]] == [True, False, True]
    assert list(OddsTick.objects.order_by("ts").values_list("simulated", flat=True)) == [True, False, True]
    listed = user_client.get("/api/odds/?sport=nba").json()["results"]
    assert [(t["game"], t["line"], t["simulated"]) for t in listed] == [
        ("g2", "27.50", True),
        ("g1", "28.50", False),
        ("g1", "27.50", True),
    ]
    assert [m["data"]["simulated"] for m in published("odds.nba")] == [True, False, True]
    assert [m["data"]["simulated"] for m in published("odds.game.g1")] == [True, False]
    [batch] = batches
    assert [t["simulated"] for t in batch] == [True, False, True]


@pytest.mark.django_db
def test_a_bad_simulated_value_is_a_row_error_and_nothing_is_written(staff_client):
    response = staff_client.post("/api/odds/", [TICK, {**TICK, "simulated": "maybe"}], format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"row 2": ["simulated: not true or false ('maybe')"]}
    assert not OddsTick.objects.exists()


@pytest.mark.django_db
def test_replaying_the_shipped_sample_labels_every_tick_simulated(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_odds", str(SAMPLE), "--speed", "max", "--limit", "40")

    assert OddsTick.objects.count() == 40
    assert not OddsTick.objects.filter(simulated=False).exists()
    messages = published("odds.nba") + published("odds.nfl") + published("odds.nhl") + published("odds.mlb")
    assert messages and all(m["data"]["simulated"] is True for m in messages if m["type"] != "odds.steam")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("flag", "column", "expected"),
    [
        ([], None, [False, False]),
        (["--simulated"], None, [True, True]),
        (["--simulated"], ["false", ""], [False, True]),
        ([], ["1", "no"], [True, False]),
    ],
)
def test_a_replayed_file_is_labelled_by_its_column_or_the_simulated_option(tmp_path, flag, column, expected):
    header = "ts,sport,game,player,player_id,stat,book,line,over_odds,under_odds"
    rows = [
        "2026-11-26T23:00:07Z,nba,g1,P,p1,points,dk,27.5,1.9,1.9",
        "2026-11-26T23:00:08Z,nba,g1,P,p1,points,dk,28.5,1.9,1.9",
    ]
    if column:
        header += ",simulated"
        rows = [f"{row},{value}" for row, value in zip(rows, column, strict=True)]
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join([header, *rows]) + "\n")

    call_command("replay_odds", str(feed), "--speed", "max", *flag)

    assert list(OddsTick.objects.order_by("ts").values_list("simulated", flat=True)) == expected


EVENT = {
    "ts": "2026-11-26T23:00:00Z",
    "sport": "nba",
    "game": "g1",
    "kind": "start",
    "home_team": "A",
    "away_team": "B",
}


@pytest.mark.django_db
def test_game_events_carry_the_label_through_the_api_and_the_messages(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/api/games/events/",
            {"events": [{**EVENT, "simulated": "true"}, {**EVENT, "ts": "2026-11-26T23:05:00Z", "kind": "period"}]},
            format="json",
        )

    assert response.status_code == 201, response.content
    assert [e["simulated"] for e in response.json()["events"]] == [True, False]
    assert list(GameEvent.objects.order_by("ts").values_list("simulated", flat=True)) == [True, False]
    assert [m["data"]["simulated"] for m in published("games.g1")] == [True, False]
    bad = staff_client.post("/api/games/events/", [EVENT, {**EVENT, "simulated": "perhaps"}], format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"row 2": ["simulated: not true or false ('perhaps')"]}
    assert GameEvent.objects.count() == 2


@pytest.mark.django_db
def test_replaying_the_shipped_game_sample_labels_every_event_simulated(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_games", str(GAMES), "--speed", "max")

    assert GameEvent.objects.exists() and not GameEvent.objects.filter(simulated=False).exists()
    assert all(m["data"]["simulated"] is True for m in published("games.g-nba-1001"))
