"""live.engine without Django: protocol parsing, the outbox, rate limiting, history, feeds, steam."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from live.engine.feed import (
    FeedError,
    parse_game_row,
    parse_odds_row,
    parse_rows,
    parse_speed,
    read_csv,
    replay_delays,
)
from live.engine.history import RingHistory, since_from
from live.engine.outbox import Outbox, Outgoing, batch_frame
from live.engine.protocol import (
    Filters,
    Ping,
    ProtocolError,
    Resume,
    Subscribe,
    parse_client_message,
    parse_filters,
)
from live.engine.ratelimit import TokenBucket
from live.engine.steam import LinePoint, detect_steam
from live.engine.topics import PRIORITY_BULK, PRIORITY_HIGH, line_key, topic_priority


def parse(message):
    return parse_client_message(json.dumps(message) if not isinstance(message, str) else message, max_topics=5)


# --- protocol -----------------------------------------------------------------------------


def test_subscribe_parses_topics_and_normalises_filters():
    message = parse(
        {"type": "subscribe", "topics": ["odds.nba", "odds.nba", "games.1"], "filters": {"player": "Jokic"}}
    )
    assert message == Subscribe(("odds.nba", "games.1"), Filters(player="jokic"))


def test_resume_needs_integer_positions():
    assert parse({"type": "resume", "topics": {"odds.nba": 4}}) == Resume({"odds.nba": 4})
    with pytest.raises(ProtocolError) as error:
        parse({"type": "resume", "topics": {"odds.nba": "4"}})
    assert error.value.code == "invalid_message"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("", "malformed"),
        ("null", "malformed"),
        ('{"type": 3}', "unknown_type"),
        ('{"type": "subscribe"}', "invalid_message"),
        ('{"type": "subscribe", "topics": ["a.b.c.d.e"]}', "invalid_topic"),
        ('{"type": "subscribe", "topics": ["x y"]}', "invalid_topic"),
        ('{"type": "subscribe", "topics": ["a1", "a2", "a3", "a4", "a5", "a6"]}', "too_many_subscriptions"),
        ('{"type": "auth"}', "invalid_message"),
        ("x" * 20000, "malformed"),
    ],
)
def test_bad_frames_raise_protocol_errors_with_stable_codes(frame, code):
    with pytest.raises(ProtocolError) as error:
        parse(frame)
    assert error.value.code == code
    assert error.value.as_message()["type"] == "error"


def test_ping_keeps_its_id():
    assert parse({"type": "ping", "id": "a"}) == Ping(id="a")


@pytest.mark.parametrize("bad", [{"min_edge": "high"}, {"min_edge": float("nan")}, {"sport": ""}, {"x": 1}, []])
def test_invalid_filters(bad):
    with pytest.raises(ProtocolError):
        parse_filters(bad)


def test_filters_apply_only_to_messages_that_carry_the_field():
    f = Filters(sport="nba", min_edge=0.05)
    assert f.matches({"sport": "NBA", "edge": 0.06})
    assert not f.matches({"sport": "nba", "edge": 0.01})
    assert not f.matches({"sport": "nfl"})
    assert f.matches({"player": "x"})  # no sport, no edge: not filtered out
    assert Filters(player="203999").matches({"player": "Jokic", "player_id": "203999"})


@given(st.text(max_size=300))
def test_parser_never_raises_anything_but_protocol_errors(text):
    with contextlib.suppress(ProtocolError):
        parse(text)


# --- outbox -------------------------------------------------------------------------------


def odds(seq, key="k1"):
    return Outgoing(f'{{"topic":"odds.nba","seq":{seq}}}', PRIORITY_BULK, "odds.nba", seq, key)


def test_outbox_drains_high_priority_first_and_fifo_within_a_priority():
    box = Outbox(10)
    for item in [odds(1, "a"), odds(2, "b"), Outgoing('{"a":1}', PRIORITY_HIGH), odds(3, "c")]:
        assert box.push(item)
    texts = box.drain(10)
    assert texts[0] == '{"a":1}'
    assert [json.loads(t)["seq"] for t in texts[1:]] == [1, 2, 3]
    assert len(box) == 0


def test_outbox_merges_superseded_ticks_when_full_and_marks_how_many():
    box = Outbox(3)
    assert box.push(odds(1, "a"))
    assert box.push(odds(2, "b"))
    assert box.push(odds(3, "a"))
    assert box.push(odds(4, "a"))  # full: 1 and 3 are superseded by... the merge keeps 3 (newest then)
    texts = [json.loads(t) for t in box.drain(10)]
    assert [t["seq"] for t in texts] == [2, 3, 4]
    assert texts[1]["merged"] == 1


def test_outbox_overflows_when_nothing_can_merge():
    box = Outbox(2)
    assert box.push(odds(1, "a")) and box.push(odds(2, "b"))
    assert not box.push(odds(3, "c"))


def test_outbox_drain_respects_the_frame_size():
    box = Outbox(10)
    for seq in range(5):
        box.push(odds(seq, str(seq)))
    assert len(box.drain(2)) == 2 and len(box) == 3


def test_batch_frame_is_a_json_array():
    assert json.loads(batch_frame(['{"a":1}', '{"b":2}'])) == [{"a": 1}, {"b": 2}]


def test_topic_classes():
    assert topic_priority("alerts") < topic_priority("games.1") < topic_priority("odds.nba")
    assert line_key("odds.nba", {"game": 1, "player": "p", "stat": "s", "book": "b"}) == "odds.nba|1|p|s|b"
    assert line_key("games.1", {"game": 1}) is None


# --- rate limit -------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5
    assert bucket.allow() and not bucket.allow()


# --- history ----------------------------------------------------------------------------


def test_ring_history_returns_what_came_after_or_resync():
    ring = RingHistory(3, base=lambda: 100)
    assert ring.current("t") == 100
    seqs = [ring.append("t", lambda seq: f"m{seq}")[0] for _ in range(5)]
    assert seqs == [101, 102, 103, 104, 105]
    assert [s for s, _ in ring.since("t", 103).entries] == [104, 105]
    assert ring.since("t", 105).entries == [] and not ring.since("t", 105).resync
    assert ring.since("t", 101).resync  # 102 has been pushed out
    assert ring.since("t", 200).resync  # a position the server never issued


@given(st.lists(st.integers(1, 50), unique=True, max_size=20), st.integers(0, 60))
def test_since_never_returns_a_gap(present, after):
    entries = [(seq, str(seq)) for seq in sorted(present)]
    current = max(present, default=0)
    answer = since_from(entries, after=after, current=current)
    if not answer.resync:
        seqs = [s for s, _ in answer.entries]
        assert seqs == list(range(after + 1, current + 1))


# --- feeds ------------------------------------------------------------------------------

ODDS_ROW = {
    "ts": "2026-11-26T23:00:07Z",
    "sport": "NBA",
    "game": "g1",
    "player": "Sim NBA Player 01",
    "player_id": "",
    "stat": "Points",
    "book": "DK",
    "line": "27.5",
    "over_odds": "1.91",
    "under_odds": "1.91",
}


def test_odds_row_parses_and_normalises():
    tick = parse_odds_row(ODDS_ROW)
    assert tick.sport == "nba" and tick.stat == "points" and tick.book == "dk"
    assert tick.line == Decimal("27.5") and tick.ts.tzinfo is not None


def test_bad_rows_are_all_reported_with_row_and_column():
    rows = [ODDS_ROW, {**ODDS_ROW, "line": "abc"}, {**ODDS_ROW, "ts": "2026-01-01T00:00:00", "over_odds": "0.9"}]
    with pytest.raises(FeedError) as error:
        parse_rows(rows, parse_odds_row)
    assert error.value.errors == {
        "row 2": ["line: not a number ('abc')"],
        "row 3": [
            "ts: needs a UTC offset (e.g. 2026-11-26T19:05:00Z)",
            "over_odds: must be greater than 1 (decimal odds)",
        ],
    }


def test_csv_header_is_checked_and_comment_lines_skipped():
    with pytest.raises(FeedError) as error:
        read_csv("# simulated\nts,sport\n1,2\n", ("ts", "sport", "game"))
    assert "game" in error.value.errors["row 0"][0]


def test_game_rows_need_scores_for_finals():
    row = {"ts": "2026-11-26T23:00:07Z", "sport": "nba", "game": "g1", "kind": "final"}
    with pytest.raises(ValueError, match="required for a final"):
        parse_game_row(row)


def test_replay_speed_and_delays():
    assert parse_speed("10x") == 10 and parse_speed("max") == float("inf")
    with pytest.raises(ValueError):
        parse_speed("fast")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert replay_delays([t0, t0 + timedelta(seconds=10), t0 + timedelta(seconds=30)], speed=10) == [0, 1, 2]


# --- steam ------------------------------------------------------------------------------

T0 = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)


def points(*moves):
    return [LinePoint(book, Decimal(str(line)), T0 + timedelta(minutes=minute)) for book, line, minute in moves]


def test_steam_needs_enough_books_moving_the_same_way_within_the_window():
    history = points(("dk", 27.5, 0), ("fd", 27.5, 0), ("dk", 28.5, 3), ("fd", 29.0, 4))
    move = detect_steam(
        history, now=T0 + timedelta(minutes=5), window=timedelta(minutes=10), min_move=Decimal(1), min_books=2
    )
    assert move is not None and move.direction == "up" and move.books == ("dk", "fd") and move.move == 1


def test_no_steam_for_one_book_or_opposite_moves_or_old_moves():
    window, one = timedelta(minutes=10), Decimal(1)
    lone = points(("dk", 27.5, 0), ("dk", 29.5, 3), ("fd", 27.5, 0))
    assert detect_steam(lone, now=T0 + timedelta(minutes=4), window=window, min_move=one, min_books=2) is None
    split = points(("dk", 27.5, 0), ("dk", 28.5, 3), ("fd", 27.5, 0), ("fd", 26.5, 3))
    assert detect_steam(split, now=T0 + timedelta(minutes=4), window=window, min_move=one, min_books=2) is None
    old = points(("dk", 27.5, 0), ("dk", 28.5, 1), ("fd", 27.5, 0), ("fd", 28.5, 1))
    assert detect_steam(old, now=T0 + timedelta(minutes=30), window=window, min_move=one, min_books=2) is None


def test_since_with_a_far_older_position_answers_resync_quickly():
    base = 1_795_692_054_663_282
    entries = [(base + n, "m") for n in range(1, 4)]
    assert since_from(entries, after=0, current=base + 3).resync
    assert [s for s, _ in since_from(entries, after=base + 1, current=base + 3).entries] == [base + 2, base + 3]
