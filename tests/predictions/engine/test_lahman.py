import numpy as np
import pytest

from predictions.engine.features import season_components
from predictions.engine.lahman import (
    league_rates,
    load_batting_seasons,
    load_pitching_seasons,
    season_component_lags,
    season_lag_index,
    season_lags,
)


@pytest.fixture(scope="module")
def batting():
    return load_batting_seasons(2021, 2024)


def test_batting_columns_follow_the_documented_formulas(batting):
    # Aaron Judge, 2022: 570 AB, 111 BB, 6 HBP, 5 SF, 0 SH; 177 H, 28 2B, 0 3B, 62 HR,
    # 175 SO, 16 SB.
    row = np.flatnonzero((batting.player_id == "judgeaa01") & (batting.season == 2022))[0]
    assert batting.opportunities[row] == 570 + 111 + 6 + 5 + 0
    assert batting.stats["home_runs"][row] == 62
    assert batting.stats["total_bases"][row] == 177 + 28 + 2 * 0 + 3 * 62
    assert batting.age[row] == 30
    assert {code: batting.stats[code][row] for code in ("doubles", "triples", "walks", "batter_strikeouts")} == {
        "doubles": 28,
        "triples": 0,
        "walks": 111,
        "batter_strikeouts": 175,
    }
    assert batting.stats["stolen_bases"][row] == 16
    assert batting.name[row] == "Aaron Judge"


def test_pitching_seasons_have_batters_faced_and_strikeouts():
    pitching = load_pitching_seasons(2024, 2024)
    assert (pitching.opportunities >= 0).all()
    assert pitching.stats["strikeouts"].max() > 200


def test_lags_and_league_rates(batting):
    counts, opportunities = season_lags(batting, ["judgeaa01"], [2024], "home_runs")
    assert counts[0].tolist() == [37.0, 62.0, 39.0]
    assert 0.02 < league_rates(batting, "home_runs")[2024] < 0.04
    assert opportunities[0, 0] > 400


def test_component_lags_line_up_with_the_stat_lags(batting):
    index = season_lag_index(batting, ["judgeaa01", "nobody00"], [2024, 2024])
    components = season_component_lags(batting, "home_runs", index)
    codes = season_components("home_runs")
    assert components.shape == (2, len(codes), 3)
    assert components[0, codes.index("doubles"), 1] == 28  # 2022, two seasons back
    assert np.isnan(components[1]).all()
