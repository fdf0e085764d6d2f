"""One definition per contract: the fast paths agree with the documented definitions.

- A prop request: ``PropRequestSerializer`` defines it; ``parse_prop`` (the batch fast path)
  accepts exactly what it accepts, with the same errors.
- A prediction answer: every answer of ``services.predictions_create`` has the fields of
  ``PredictionSerializer`` and validates against it.
- An odds-feed row: the demo feed's rows (predictions.engine.odds_feed, floats) are rows of
  live's feed format (live.engine.feed, Decimals) and parse back to the same values.
"""

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from live.engine.feed import ODDS_COLUMNS, parse_odds_row, parse_rows, read_csv
from predictions.api.serializers import PROP_FIELDS, PredictionSerializer, PropRequestSerializer, parse_prop
from predictions.engine.odds_feed import FEED_COLUMNS, FeedTick, feed_csv

JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, 1801, 2024, 2999, 3000, 1800, -5]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.0, 1.01, 1.95, 1000.0, 1000.5, 100_000.0, 100_000.5, -100_000.0, 14.5]),
    st.text(max_size=70),
    st.sampled_from(["", " ", "nba", "NBA", "points", "LAL@BOS", "x" * 64, "x" * 65, "  padded  "]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ITEMS = st.one_of(
    st.dictionaries(st.sampled_from([*PROP_FIELDS, "extra", "odds"]), JSON_VALUES, max_size=10),
    JSON_VALUES,
)


def serializer_outcome(item):
    serializer = PropRequestSerializer(data=item)
    if serializer.is_valid():
        return serializer.save(), {}
    return None, {field: [str(message) for message in messages] for field, messages in serializer.errors.items()}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ITEMS)
def test_the_fast_prop_parser_accepts_exactly_what_the_serializer_accepts_with_the_same_errors(item):
    assert parse_prop(item) == serializer_outcome(item)


@pytest.mark.parametrize(
    "item",
    [
        {"sport": "NBA", "stat": "points", "line": 14.5, "player": 7, "game": "G1"},
        {"sport": "mlb", "stat": "home_runs", "line": 20.5, "player": "p1", "season": 2024, "over_decimal_odds": 1.9},
        {"sport": "nba", "stat": "points", "line": 14.5, "player": 7, "game": 3, "season": 2024},
        {"sport": "nba", "stat": "points", "line": "14.5", "player": True, "game": None},
        [],
    ],
)
def test_examples_agree_between_the_parser_and_the_serializer(item):
    assert parse_prop(item) == serializer_outcome(item)


def test_every_prediction_answer_has_the_documented_shape(served, user_client):
    game = served["upcoming"][0]
    player = next(p for p in served["players"] if p.team_id == game.home_team_id)
    prop = {"sport": "nba", "stat": "points", "player": player.pk, "game": game.pk, "line": 14.5}
    fresh = user_client.post("/api/predictions/", prop, format="json").json()
    cached = user_client.post("/api/predictions/", prop, format="json").json()
    priced = user_client.post(
        "/api/predictions/", {**prop, "over_decimal_odds": 1.9, "under_decimal_odds": 1.9}, format="json"
    ).json()
    for answer in (fresh, cached, priced):
        assert set(answer) == set(PredictionSerializer().fields)
        serializer = PredictionSerializer(data=answer)
        assert serializer.is_valid(), serializer.errors
    assert cached["cached"] and not fresh["cached"]


TICKS = st.builds(
    FeedTick,
    # The feed's steps are whole seconds (its CSV writes seconds).
    ts=st.datetimes(
        min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC)
    ).map(lambda moment: moment.replace(microsecond=0)),
    sport=st.sampled_from(["mlb", "nba", "nfl", "nhl"]),
    game=st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
    player=st.from_regex(r"[A-Za-z][A-Za-z .'-]{0,30}[a-z]", fullmatch=True),
    player_id=st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    stat=st.sampled_from(["points", "rebounds", "shots_on_goal", "home_runs"]),
    book=st.sampled_from(["SimBook North", "SimBook South", "SimBook Today"]),
    line=st.sampled_from([0.5, 1.0, 14.5, 250.5]),
    over_odds=st.floats(min_value=1.01, max_value=50, allow_nan=False).map(lambda v: round(v, 2)),
    under_odds=st.floats(min_value=1.01, max_value=50, allow_nan=False).map(lambda v: round(v, 2)),
)


def test_the_demo_feed_writes_lives_odds_columns_plus_its_simulated_flag():
    assert (*ODDS_COLUMNS, "simulated") == FEED_COLUMNS


@settings(max_examples=200, deadline=None)
@given(st.lists(TICKS, min_size=1, max_size=5))
def test_demo_feed_rows_parse_in_lives_feed_format_to_the_same_values(ticks):
    text = feed_csv(ticks, header=["# simulated"])
    parsed = parse_rows(read_csv(text, ODDS_COLUMNS), parse_odds_row)
    assert len(parsed) == len(ticks)
    for tick, row in zip(ticks, parsed, strict=True):
        assert row.ts == tick.ts and row.sport == tick.sport and row.game == tick.game
        assert row.player == tick.player and row.player_id == tick.player_id and row.stat == tick.stat
        assert row.book == tick.book.lower()
        for name in ("line", "over_odds", "under_odds"):
            assert math.isclose(float(getattr(row, name)), getattr(tick, name), rel_tol=1e-12)
