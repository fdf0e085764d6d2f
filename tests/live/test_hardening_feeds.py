"""Feed rows: any game id the row check accepts names a topic a client can subscribe to;
objects as ids and timestamps past the calendar's edge answer 400."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from live import services
from live.backends import get_broker
from live.engine.feed import parse_game_row
from live.engine.protocol import validate_topic
from live.engine.topics import topic_part, topic_part_text
from live.models import GameEvent, OddsTick

EVENT = {"ts": "2026-12-05T19:00:00Z", "sport": "nba", "kind": "start", "home_team": "LAL", "away_team": "BOS"}
TICK = {
    "ts": "2026-12-05T19:00:00Z",
    "sport": "nba",
    "player": "Sim NBA Player 01",
    "stat": "points",
    "book": "dk",
    "line": 27.5,
    "over_odds": 1.91,
    "under_odds": 1.91,
}
ODD_IDS = ["BOS@LAL 2026-12-05", "Málaga–Sevilla", "g.1.2", "a:b", "東京", "x" * 64, "🏀" * 10]


@given(st.text(min_size=1, max_size=64))
def test_every_id_the_row_check_accepts_names_a_valid_topic_and_comes_back(game):
    try:
        event = parse_game_row({**EVENT, "game": game})
    except ValueError:
        return
    for topic in (f"games.{topic_part(event.game)}", f"odds.game.{topic_part(event.game)}"):
        assert validate_topic(topic) == topic
    assert topic_part_text(topic_part(event.game)) == event.game


def test_plain_ids_keep_their_topic_name():
    assert topic_part("0022400123") == "0022400123"
    assert topic_part("BOS@LAL 1.5") == "BOS:40LAL:201:2E5"


@pytest.mark.django_db
@pytest.mark.parametrize("game", ODD_IDS)
def test_game_events_and_odds_with_such_ids_are_stored_and_published_to_a_subscribable_topic(
    staff_client, user, game, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        events = staff_client.post("/api/games/events/", [{**EVENT, "game": game}], format="json")
        odds = staff_client.post("/api/odds/", [{**TICK, "game": game}], format="json")
    assert events.status_code == 201, events.content
    assert odds.status_code == 201, odds.content
    assert GameEvent.objects.get().game_external_id == game == OddsTick.objects.get().game_external_id
    rings = get_broker().history._rings
    for topic in (f"games.{topic_part(game)}", f"odds.game.{topic_part(game)}"):
        assert rings.get(topic), f"nothing published on {topic}"
        stream, error = services.topics_authorize(user=user, topics=[topic])[topic]
        assert error is None and stream == topic


@pytest.mark.django_db
def test_an_id_too_long_for_a_topic_once_escaped_is_refused_by_the_row_check(staff_client):
    response = staff_client.post("/api/games/events/", [{**EVENT, "game": "🏀" * 64}], format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"row 1": ["game: too long for a topic name once escaped (768 > 128)"]}


@pytest.mark.django_db
@pytest.mark.parametrize("game", [{"id": 1}, ["g1"]])
@pytest.mark.parametrize(("path", "row"), [("/api/games/events/", EVENT), ("/api/odds/", TICK)])
def test_an_object_as_game_id_is_a_400_naming_the_row(staff_client, path, row, game):
    response = staff_client.post(path, [{**row, "game": game}], format="json")
    assert response.status_code == 400
    expected = f"game: must be text or a number, not {type(game).__name__}"
    assert response.json()["error"]["fields"] == {"row 1": [expected]}


@pytest.mark.django_db
@pytest.mark.parametrize("ts", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
@pytest.mark.parametrize(("path", "row"), [("/api/games/events/", EVENT), ("/api/odds/", TICK)])
def test_timestamps_past_the_calendars_edge_are_a_400(staff_client, path, row, ts):
    response = staff_client.post(path, [{**row, "game": "g1", "ts": ts}], format="json")
    assert response.status_code == 400, response.content
    assert "ts: outside the years 1-9999" in response.json()["error"]["fields"]["row 1"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("ts", ["9999-12-31T22:59:59-01:00", "0001-01-01T01:00:00+01:00"])
def test_the_last_and_first_representable_moments_are_accepted(staff_client, ts):
    response = staff_client.post("/api/games/events/", [{**EVENT, "game": "g1", "ts": ts}], format="json")
    assert response.status_code == 201, response.content
