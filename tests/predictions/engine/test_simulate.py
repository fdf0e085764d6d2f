from dataclasses import fields

import numpy as np
import pytest

from predictions.engine.distributions import prob_over_under_push
from predictions.engine.logs import devig_proportional
from predictions.engine.simulate import SimConfig, league_as_of, season_under_way, simulate_league
from predictions.engine.sports import get_sport


def tiny(sport: str, seed: int = 0) -> SimConfig:
    return SimConfig(sport, n_seasons=2, games_per_team=10, n_teams=4, seed=seed)


def columns(league):
    yield from ((f"games.{f.name}", getattr(league.games, f.name)) for f in fields(league.games))
    for f in fields(league.stat_lines):
        value = getattr(league.stat_lines, f.name)
        if isinstance(value, dict):
            yield from ((f"stat_lines.{key}", array) for key, array in value.items())
        else:
            yield f"stat_lines.{f.name}", value
    yield from ((f"props.{f.name}", getattr(league.props, f.name)) for f in fields(league.props))


@pytest.mark.parametrize("sport", ["nba", "nfl", "nhl"])
def test_same_seed_gives_identical_arrays(sport):
    first, second = simulate_league(tiny(sport)), simulate_league(tiny(sport))
    for (name, a), (_, b) in zip(columns(first), columns(second), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("sport", ["nba", "nfl", "nhl"])
def test_different_seed_gives_different_stats(sport):
    first, second = simulate_league(tiny(sport, 1)), simulate_league(tiny(sport, 2))
    stat = get_sport(sport).stats[0].code
    assert not np.array_equal(first.stat_lines.stats[stat][:50], second.stat_lines.stats[stat][:50])


@pytest.mark.parametrize("sport", ["nba", "nfl", "nhl"])
def test_league_has_the_documented_structure(sport):
    league = simulate_league(tiny(sport))
    lines, props = league.stat_lines, league.props
    assert all(name.startswith("Sim Player ") for name in league.players.name)
    assert all(name.startswith("Sim ") for name in league.teams.name)
    assert lines.game_date.dtype == np.dtype("datetime64[D]")
    assert set(np.unique(lines.role)) <= set(get_sport(sport).roles)
    assert lines.is_home.any() and (~lines.is_home).any()
    assert (lines.rest_days >= 0).all() and (lines.rest_days <= 10).all()
    # A player plays at most once per game; absent players have no row.
    assert len(np.unique(np.stack([lines.game_id, lines.player_id]), axis=1).T) == len(lines)
    overround = 1 / props.over_decimal_odds + 1 / props.under_decimal_odds - 1
    assert np.median(overround) == pytest.approx(0.045, abs=0.005)
    assert (props.line == np.floor(props.line)).any() and (props.line != np.floor(props.line)).any()
    assert np.isfinite(props.oracle_mean).all() and (props.oracle_dispersion > 0).all()


def test_book_lines_sit_near_the_true_median_so_edges_are_rare():
    league = simulate_league(SimConfig("nba", n_seasons=1, games_per_team=30, n_teams=6, seed=4))
    props = league.props
    oracle = prob_over_under_push("negbin", props.oracle_mean, props.oracle_dispersion, props.line)
    oracle_over = oracle.p_over / (oracle.p_over + oracle.p_under)
    book_over = devig_proportional(props.over_decimal_odds, props.under_decimal_odds)
    edge = np.abs(oracle_over - book_over)
    assert np.median(edge) < 0.06
    assert np.mean(np.abs(oracle_over - 0.5)) < 0.1


def test_back_to_backs_and_absences_happen():
    league = simulate_league(SimConfig("nba", n_seasons=1, games_per_team=30, n_teams=6, seed=5))
    lines = league.stat_lines
    assert 0.05 < np.mean(lines.rest_days == 0) < 0.35
    games_played = np.bincount(lines.player_id)
    assert games_played.min() < games_played.max()


def test_config_rejects_real_data_sport():
    with pytest.raises(ValueError, match="not simulated"):
        SimConfig("mlb")


def test_book_prices_are_always_above_one_even_at_the_clip():
    from predictions.engine.logs import devig_proportional, price_two_way

    over, under = price_two_way(np.array([0.0, 0.03, 0.5, 0.97, 1.0]), overround=0.045)
    assert np.all(over >= 1.01) and np.all(under >= 1.01)
    assert devig_proportional(over[2], under[2]) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    ("sport", "day", "season"),
    [
        ("nba", "2026-10-21", 2025),
        ("nba", "2026-10-22", 2026),
        ("nba", "2027-03-01", 2026),
        ("nhl", "2026-10-07", 2025),
        ("nhl", "2026-10-08", 2026),
        # 2026-09-07 is a Monday: the NFL season starts on Sunday the 13th.
        ("nfl", "2026-09-12", 2025),
        ("nfl", "2026-09-13", 2026),
        ("nfl", "2027-01-10", 2026),
    ],
)
def test_the_season_under_way_is_the_latest_that_started_on_or_before_the_day(sport, day, season):
    assert season_under_way(sport, day) == season


# Days inside each sport's 2026 season of the config below (12 games a team).
@pytest.mark.parametrize(("sport", "day"), [("nba", "2026-11-05"), ("nfl", "2026-11-01"), ("nhl", "2026-10-20")])
def test_a_league_as_of_a_day_holds_only_earlier_games_and_ends_in_the_season_under_way(sport, day):
    config = SimConfig(sport, n_seasons=2, games_per_team=12, n_teams=4, seed=3)
    day = np.datetime64(day)

    league = league_as_of(config, day)

    assert league.config.first_season == 2025
    assert set(league.games.season.tolist()) == {2025, 2026}
    for dates in (league.games.game_date, league.stat_lines.game_date, league.props.game_date):
        assert len(dates) and dates.max() < day
    assert set(league.stat_lines.game_id.tolist()) <= set(league.games.game_id.tolist())
    assert set(league.props.game_id.tolist()) <= set(league.stat_lines.game_id.tolist())
    # The same seasons laid out in full: the league as of the day is their beginning.
    whole = simulate_league(SimConfig(sport, n_seasons=2, games_per_team=12, n_teams=4, seed=3, first_season=2025))
    assert len(whole.games.game_id) > len(league.games.game_id)
    for (name, cut), (_, full) in zip(columns(league), columns(whole), strict=True):
        assert np.array_equal(cut, full[: len(cut)], equal_nan=cut.dtype.kind == "f"), name
