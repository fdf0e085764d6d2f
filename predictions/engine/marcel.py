"""The Marcel projection (Tom Tango's "Marcel the Monkey" forecasting system).

Tango's Marcel, as described at tangotiger.net/archives/stud0346.shtml and in "The Book"
(Tango, Lichtman, Dolphin 2007), is the minimum a forecast must beat:

1. Weight the last three seasons 5/4/3 (most recent first) for batters (3/2/1 for
   pitchers), both the stat and the opportunities (plate appearances, or batters faced).
2. Regress toward the league: add ``regression_opportunities`` (1200 PA for batters) of the
   league-average rate. The league rate is the average of the three seasons' league rates
   weighted like the player's opportunities (5 x PA1, 4 x PA2, 3 x PA3), so the regression
   mix matches the mix of seasons in his own line; with no history it falls back to the
   stat weights alone.
   rate = (sum w_i stat_i + 1200 x league_rate) / (sum w_i opp_i + 1200)
3. Age: multiply the rate by 1 + 0.006 x (29 - age) under 29 and 1 - 0.003 x (age - 29)
   over 29 (age in the projected season).
4. Playing time: projected opportunities = 0.5 x opp(y-1) + 0.1 x opp(y-2) + 200.
5. Projected count = rate x projected opportunities.

Step 4 is unconditional: it is the playing time of any player who played, and runs about
10 % low for one who then reaches a qualifying volume (300 PA). A comparison with models
scored only on qualified seasons must tell Marcel that he qualified: the **fair Marcel**
(``fair_marcel_count``) is Marcel's rate x ``qualified_playing_time``, the largest of
Marcel's playing time, 90 % of last season's and a floor (the qualifying volume + 150, so
450 PA / 400 BF) -- the season book's rule (engine.lahman) without its private noise, every
part of it known before the season.

A1 applies the same steps to pitcher strikeouts with batters faced as the opportunity,
Tango's pitcher weights 3/2/1, a regression of 570 BF (his 134 IP at about 4.25 batters per
inning) and a playing-time constant of 250 BF (his 60 IP for starters). Tango also ages and
regresses pitchers; this keeps the formula identical so one implementation serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MarcelConfig:
    season_weights: tuple[float, float, float] = (5.0, 4.0, 3.0)
    regression_opportunities: float = 1200.0
    playing_time_weights: tuple[float, float] = (0.5, 0.1)
    playing_time_constant: float = 200.0
    peak_age: float = 29.0
    young_gain_per_year: float = 0.006
    old_decline_per_year: float = 0.003


BATTING_MARCEL = MarcelConfig()
PITCHING_MARCEL = MarcelConfig(
    season_weights=(3.0, 2.0, 1.0), regression_opportunities=570.0, playing_time_constant=250.0
)


@dataclass(frozen=True)
class MarcelProjection:
    rate: np.ndarray
    opportunities: np.ndarray
    count: np.ndarray
    # The league rate the player is regressed toward (step 2), before the age factor.
    league_rate: np.ndarray


def age_multiplier(age, config: MarcelConfig = BATTING_MARCEL) -> np.ndarray:
    age = np.asarray(age, float)
    return np.where(
        age < config.peak_age,
        1.0 + config.young_gain_per_year * (config.peak_age - age),
        1.0 - config.old_decline_per_year * (age - config.peak_age),
    )


def marcel_project(counts, opportunities, league_rates, age, config: MarcelConfig = BATTING_MARCEL) -> MarcelProjection:
    """Project rows of players. ``counts``, ``opportunities`` and ``league_rates`` have shape
    (n, 3) with column 0 = last season (y-1), 1 = y-2, 2 = y-3; a season without play has
    zero count and zero opportunities. ``age`` is the age in the projected season."""
    counts = np.atleast_2d(np.asarray(counts, float))
    opportunities = np.atleast_2d(np.asarray(opportunities, float))
    league_rates = np.broadcast_to(np.asarray(league_rates, float), counts.shape)
    weights = np.asarray(config.season_weights)
    weighted_count = counts @ weights
    weighted_opportunities = opportunities @ weights
    opportunity_weights = opportunities * weights
    has_history = weighted_opportunities > 0
    league_rate = np.where(
        has_history,
        np.sum(opportunity_weights * league_rates, axis=1) / np.where(has_history, weighted_opportunities, 1.0),
        league_rates @ weights / weights.sum(),
    )
    regression = config.regression_opportunities
    rate = (weighted_count + regression * league_rate) / (weighted_opportunities + regression)
    rate = rate * age_multiplier(age, config)
    first, second = config.playing_time_weights
    projected_opportunities = first * opportunities[:, 0] + second * opportunities[:, 1] + config.playing_time_constant
    return MarcelProjection(
        rate=rate, opportunities=projected_opportunities, count=rate * projected_opportunities, league_rate=league_rate
    )


# A qualified player's playing time: at least 90 % of last season's (a regular keeps his job).
QUALIFIED_LAST_SEASON_SHARE = 0.9


def qualified_playing_time(marcel_opportunities, last_season_opportunities, floor: float) -> np.ndarray:
    """The playing time of a player known to reach the qualifying volume: the largest of
    Marcel's projection, ``QUALIFIED_LAST_SEASON_SHARE`` of last season's and ``floor``."""
    return np.maximum(
        np.maximum(
            np.asarray(marcel_opportunities, float),
            QUALIFIED_LAST_SEASON_SHARE * np.asarray(last_season_opportunities, float),
        ),
        floor,
    )


def fair_marcel_count(projection: MarcelProjection, last_season_opportunities, floor: float) -> np.ndarray:
    """Marcel's rate x ``qualified_playing_time``: Marcel told that the player qualifies."""
    return projection.rate * qualified_playing_time(projection.opportunities, last_season_opportunities, floor)
