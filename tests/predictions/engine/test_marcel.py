import numpy as np
import pytest

from predictions.engine.marcel import (
    BATTING_MARCEL,
    age_multiplier,
    fair_marcel_count,
    marcel_project,
    qualified_playing_time,
)


def test_marcel_reproduces_the_hand_computed_home_run_projection():
    # A 27-year-old with 30, 25, 20 HR in 600, 550, 500 PA (last season first) in a league
    # hitting 0.030 HR per PA every year.
    #   weighted HR  = 5*30 + 4*25 + 3*20          = 150 + 100 + 60  = 310
    #   weighted PA  = 5*600 + 4*550 + 3*500       = 3000 + 2200 + 1500 = 6700
    #   regression   = 1200 PA * 0.030             = 36 HR
    #   rate         = (310 + 36) / (6700 + 1200)  = 346 / 7900 = 0.0437975
    #   age 27       = 1 + 0.006 * (29 - 27)       = 1.012  -> rate 0.0443230
    #   PA           = 0.5*600 + 0.1*550 + 200     = 555
    #   HR           = 0.0443230 * 555             = 24.5993
    projection = marcel_project([[30, 25, 20]], [[600, 550, 500]], [0.030, 0.030, 0.030], [27])
    assert projection.rate[0] == pytest.approx(346 / 7900 * 1.012)
    assert projection.opportunities[0] == pytest.approx(555.0)
    assert projection.count[0] == pytest.approx(24.59928608, abs=1e-6)


def test_league_rate_is_weighted_like_the_players_playing_time():
    # Only the last season was played, so the regression uses that season's league rate.
    projection = marcel_project([[10, 0, 0]], [[400, 0, 0]], [[0.02, 0.05, 0.05]], [29])
    assert projection.rate[0] == pytest.approx((5 * 10 + 1200 * 0.02) / (5 * 400 + 1200))


def test_a_player_without_history_projects_to_the_league_rate_and_200_pa():
    projection = marcel_project(np.zeros((1, 3)), np.zeros((1, 3)), [0.03, 0.03, 0.03], [29])
    assert projection.rate[0] == pytest.approx(0.03)
    assert projection.opportunities[0] == pytest.approx(200.0)


def test_age_adjustment_rises_under_29_and_falls_over_it():
    assert age_multiplier([24, 29, 35], BATTING_MARCEL) == pytest.approx([1.03, 1.0, 0.982])


def test_fair_marcel_reproduces_the_hand_computed_qualified_home_run_projection():
    # A 27-year-old with 35, 25, 20 HR in 700, 600, 500 PA (last season first), league 0.030
    # HR per PA every year, known to reach 300 PA this season.
    #   weighted HR  = 5*35 + 4*25 + 3*20          = 175 + 100 + 60 = 335
    #   weighted PA  = 5*700 + 4*600 + 3*500       = 3500 + 2400 + 1500 = 7400
    #   rate         = (335 + 1200*0.030) / (7400 + 1200) = 371 / 8600, x 1.012 (age 27)
    #   Marcel PA    = 0.5*700 + 0.1*600 + 200     = 610 (plain Marcel: 26.6309 HR)
    #   fair PA      = max(610, 0.9*700 = 630, 450) = 630
    #   fair HR      = 371 / 8600 * 1.012 * 630    = 27.50404
    projection = marcel_project([[35, 25, 20]], [[700, 600, 500]], [0.030, 0.030, 0.030], [27])
    assert projection.count[0] == pytest.approx(371 / 8600 * 1.012 * 610)
    assert fair_marcel_count(projection, [700], floor=450.0)[0] == pytest.approx(27.50404, abs=1e-5)


def test_qualified_playing_time_takes_the_largest_of_marcel_last_season_and_the_floor():
    # Marcel's PA wins; 90 % of last season's wins; the floor wins (a part-timer who qualifies).
    assert qualified_playing_time([555.0, 610.0, 360.0], [600.0, 700.0, 300.0], 450.0) == pytest.approx(
        [555.0, 630.0, 450.0]
    )
