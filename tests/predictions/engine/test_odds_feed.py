"""engine.odds_feed: a seeded feed that moves a slate's posted quotes by the simulator's book model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from live.engine.feed import ODDS_COLUMNS, parse_odds_row, parse_rows, read_csv
from predictions.engine.odds_feed import SlateQuote, feed_csv, generate_feed, implied_mean
from predictions.engine.simulate import BOOKS, book_quote, role_dispersion

START = dt.datetime(2026, 11, 26, 12, 1, tzinfo=dt.UTC)


def slate() -> list[SlateQuote]:
    """Posted quotes priced by the simulator's book from known means, over three sports."""
    rows = [
        ("nba", "SLATE-A", "P0001", "starter", "points", 0, 22.0),
        ("nba", "SLATE-A", "P0001", "starter", "rebounds", 1, 7.5),
        ("nba", "SLATE-A", "P0002", "bench", "points", 0, 9.0),
        ("nba", "SLATE-B", "P0003", "starter", "assists", 2, 5.2),
        ("nfl", "SLATE-C", "P0100", "QB", "passing_yards", 0, 245.0),
        ("nfl", "SLATE-C", "P0101", "WR", "receptions", 2, 4.6),
        ("nhl", "SLATE-D", "P0200", "F", "shots_on_goal", 0, 2.9),
        ("nhl", "SLATE-D", "P0201", "G", "saves", 2, 27.0),
    ]
    families = {"points": "negbin", "rebounds": "negbin", "assists": "negbin", "receptions": "negbin"}
    families |= {"passing_yards": "normal", "shots_on_goal": "negbin", "saves": "negbin"}
    quotes = []
    for sport, game, player_id, role, stat, index, mean in rows:
        dispersion = role_dispersion(sport, role)[[index]]
        line, over, under = book_quote(families[stat], np.array([mean]), dispersion, np.array([False]))
        quotes.append(
            SlateQuote(
                sport=sport,
                game=game,
                player=f"Sim Player {player_id[1:]}",
                player_id=player_id,
                role=role,
                stat=stat,
                book="SimBook Today",
                line=float(line[0]),
                over_odds=float(over[0]),
                under_odds=float(under[0]),
            )
        )
    return quotes


def test_the_same_quotes_seed_and_start_give_the_same_feed_in_any_input_order():
    quotes = slate()

    first = generate_feed(quotes, seed=3, start=START, minutes=20)
    again = generate_feed(list(reversed(quotes)), seed=3, start=START, minutes=20)
    other = generate_feed(quotes, seed=4, start=START, minutes=20)

    assert first == again
    assert first != other
    assert feed_csv(first, header=["x"]) == feed_csv(again, header=["x"])


def test_the_feed_quotes_only_the_slates_props_at_its_book_and_the_simulators_books_all_simulated():
    quotes = slate()
    ticks = generate_feed(quotes, seed=0, start=START, minutes=30)

    props = {(q.sport, q.game, q.player_id, q.stat): q for q in quotes}
    assert {(t.sport, t.game, t.player_id, t.stat) for t in ticks} == set(props)
    assert all(t.player == props[(t.sport, t.game, t.player_id, t.stat)].player for t in ticks)
    assert {t.book for t in ticks} == {"SimBook Today", *BOOKS}
    assert all(t.simulated for t in ticks)
    assert all(t.over_odds > 1 and t.under_odds > 1 for t in ticks)
    assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)
    assert ticks[0].ts == START and ticks[-1].ts <= START + dt.timedelta(minutes=30)


def test_every_book_opens_every_prop_then_writes_only_changes_and_some_lines_move():
    quotes = slate()
    ticks = generate_feed(quotes, seed=0, start=START, minutes=60)

    opening = [t for t in ticks if t.ts == START]
    assert len(opening) == len(quotes) * 3
    posted = {(q.game, q.player_id, q.stat): (q.line, q.over_odds, q.under_odds) for q in quotes}
    for tick in opening:
        if tick.book == "SimBook Today":
            assert (tick.line, tick.over_odds, tick.under_odds) == posted[(tick.game, tick.player_id, tick.stat)]
    last, line_moves = {}, 0
    for tick in ticks:
        key = (tick.game, tick.player_id, tick.stat, tick.book)
        quote = (tick.line, tick.over_odds, tick.under_odds)
        assert last.get(key) != quote, "a row is written only when the quote changes"
        line_moves += key in last and last[key][0] != tick.line
        last[key] = quote
    assert len(ticks) > len(opening) and line_moves > 0


def test_props_per_sport_keeps_a_seeded_sample_of_each_sport():
    quotes = slate()

    ticks = generate_feed(quotes, seed=5, start=START, minutes=5, props_per_sport=1)

    kept = {(t.sport, t.game, t.player_id, t.stat) for t in ticks}
    assert sorted(key[0] for key in kept) == ["nba", "nfl", "nhl"]
    assert generate_feed(quotes, seed=5, start=START, minutes=5, props_per_sport=1) == ticks


@pytest.mark.parametrize(
    ("family", "mean", "dispersion"),
    [("negbin", 22.0, 0.03), ("negbin", 2.9, 0.10), ("negbin", 0.7, 0.20), ("normal", 245.0, 22.0)],
)
def test_the_implied_mean_recovers_the_books_own_mean_from_its_quote(family, mean, dispersion):
    line, over, under = book_quote(family, np.array([mean]), np.array([dispersion]), np.array([False]))
    p_over = (1 / over) / (1 / over + 1 / under)

    recovered = implied_mean(family, line, p_over, np.array([dispersion]))

    # Prices are rounded to 0.01, so the round trip is close, not exact.
    assert recovered[0] == pytest.approx(mean, rel=0.04)


def test_the_csv_reads_back_through_lives_feed_parser_with_every_row_simulated():
    ticks = generate_feed(slate(), seed=0, start=START, minutes=10)
    text = feed_csv(ticks, header=["A1 DEMO ODDS FEED - SIMULATED DATA"])

    assert text.startswith("# A1 DEMO ODDS FEED - SIMULATED DATA\n")
    rows = read_csv(text, ODDS_COLUMNS)
    parsed = parse_rows(rows, parse_odds_row)
    assert len(parsed) == len(ticks)
    assert {row["simulated"] for row in rows} == {"true"}
    assert parsed[0].ts == ticks[0].ts and float(parsed[0].line) == ticks[0].line


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="aware"):
        generate_feed(slate(), seed=0, start=START.replace(tzinfo=None))
    with pytest.raises(ValueError, match="one posted quote per prop"):
        generate_feed(slate() * 2, seed=0, start=START)
    with pytest.raises(ValueError, match="seed"):
        generate_feed(slate(), seed=-1, start=START)
