"""Columnar game logs and prop lines: the arrays that the simulator and importers produce.

One row per array index; every array in a dataclass has the same length. Dates are
numpy ``datetime64[D]``. These are plain containers: the service layer fills them from the
database, the simulator fills them from its generative model, and engine.features reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


def _check_lengths(instance, skip: tuple[str, ...] = ()) -> None:
    lengths = {}
    for field in fields(instance):
        if field.name in skip:
            continue
        value = getattr(instance, field.name)
        if isinstance(value, np.ndarray):
            lengths[field.name] = len(value)
        elif isinstance(value, dict):
            for key, array in value.items():
                lengths[f"{field.name}[{key}]"] = len(array)
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{type(instance).__name__} columns differ in length: {lengths}")


def _take(instance, index: np.ndarray, **replaced):
    """A new instance of ``instance``'s class with every array column cut to the rows at
    ``index`` (an integer or boolean array); ``replaced`` columns are given as they are."""
    columns = {
        field.name: getattr(instance, field.name)[index] for field in fields(instance) if field.name not in replaced
    }
    return type(instance)(**columns, **replaced)


@dataclass(frozen=True)
class Games:
    game_id: np.ndarray
    season: np.ndarray
    game_date: np.ndarray
    home_team_id: np.ndarray
    away_team_id: np.ndarray
    # Possessions (NBA), offensive plays (NFL) or shot attempts (NHL) per 48/60 minutes,
    # measured after the game; features use only past games' pace.
    pace: np.ndarray

    def __post_init__(self) -> None:
        _check_lengths(self)

    def __len__(self) -> int:
        return len(self.game_id)

    def take(self, index: np.ndarray) -> Games:
        return _take(self, index)


@dataclass(frozen=True)
class StatLines:
    """One row per player per game played (a player who sits out has no row)."""

    game_id: np.ndarray
    player_id: np.ndarray
    team_id: np.ndarray
    opponent_id: np.ndarray
    game_date: np.ndarray
    season: np.ndarray
    role: np.ndarray
    is_home: np.ndarray
    # Full days off since the team's previous game in the season: 0 is a back-to-back;
    # a season opener counts as 10 (the cap).
    rest_days: np.ndarray
    # Playing time: minutes (NBA, NHL time on ice) or offensive snaps scaled to 60 (NFL).
    minutes: np.ndarray
    stats: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        _check_lengths(self)

    def __len__(self) -> int:
        return len(self.game_id)

    def take(self, index: np.ndarray) -> StatLines:
        """The rows at ``index`` (an integer or boolean array), as a new StatLines."""
        return _take(self, index, stats={code: values[index] for code, values in self.stats.items()})


@dataclass(frozen=True)
class Props:
    """Book lines with prices. ``oracle_*`` hold the exact distribution the stat was drawn
    from when the data is simulated, and NaN for real data."""

    game_id: np.ndarray
    player_id: np.ndarray
    game_date: np.ndarray
    stat: np.ndarray
    line: np.ndarray
    over_decimal_odds: np.ndarray
    under_decimal_odds: np.ndarray
    book: np.ndarray
    oracle_mean: np.ndarray
    oracle_dispersion: np.ndarray

    def __post_init__(self) -> None:
        _check_lengths(self)

    def __len__(self) -> int:
        return len(self.game_id)

    def take(self, index: np.ndarray) -> Props:
        return _take(self, index)


# Full days off a team's first game of a season counts as (and the cap on any longer break):
# beyond ten days rest changes nothing the models can learn from the simulated leagues.
MAX_REST_DAYS = 10


def rest_days(game_date, previous_game_date) -> np.ndarray:
    """Full days off before a team's game since its previous game of the same season: 0 is a
    back-to-back; no previous game (NaT) is a season opener, counted as ``MAX_REST_DAYS``; longer
    breaks are capped there. The one rest rule of the simulator, training and serving; takes
    scalars or arrays of dates (``datetime64``, ``datetime.date``)."""
    days = (
        np.asarray(game_date, dtype="datetime64[D]") - np.asarray(previous_game_date, dtype="datetime64[D]")
    ).astype("timedelta64[D]")
    missing = np.isnat(days)
    whole = np.where(missing, MAX_REST_DAYS + 1, days.astype(np.int64, copy=False))
    return np.minimum(whole - 1, MAX_REST_DAYS).astype(np.int64)


def team_rest_days(games: Games) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(game_id, team_id, rest_days) for both teams of every game in ``games``, each from the
    team's previous game of the same season in ``games`` (``rest_days``)."""
    game_id = np.concatenate([games.game_id, games.game_id])
    team_id = np.concatenate([games.home_team_id, games.away_team_id])
    season = np.concatenate([games.season, games.season])
    game_date = np.concatenate([games.game_date, games.game_date]).astype("datetime64[D]")
    order = np.lexsort((game_id, game_date, season, team_id))
    previous = np.full(len(order), np.datetime64("NaT"), dtype="datetime64[D]")
    same_run = (team_id[order][1:] == team_id[order][:-1]) & (season[order][1:] == season[order][:-1])
    previous_sorted = np.full(len(order), np.datetime64("NaT"), dtype="datetime64[D]")
    previous_sorted[1:] = np.where(same_run, game_date[order][:-1], np.datetime64("NaT"))
    previous[order] = previous_sorted
    return game_id, team_id, rest_days(game_date, previous)


# The shortest price books post.
MIN_DECIMAL_ODDS = 1.01


def devig_proportional(over_decimal_odds, under_decimal_odds) -> np.ndarray:
    """The book's fair P(over | no push) by proportional (multiplicative) de-vigging.

    Implied probabilities 1/odds sum to 1 + overround; dividing each by that sum spreads the
    margin in proportion to the implied probability. With push refunds a fair decimal price
    is 1 / P(side | no push), so the result is conditional on no push.
    """
    implied_over = 1.0 / np.asarray(over_decimal_odds, float)
    implied_under = 1.0 / np.asarray(under_decimal_odds, float)
    return implied_over / (implied_over + implied_under)


def price_two_way(p_over_no_push, overround: float) -> tuple[np.ndarray, np.ndarray]:
    """Decimal odds (to 0.01) for over and under from the book's P(over | no push).

    The margin is added proportionally: implied probability = fair probability x (1 +
    overround), so ``devig_proportional`` recovers the fair value up to the 0.01 rounding.
    Probabilities are clipped to [0.03, 0.97] because books do not post prices beyond that,
    and no price goes below 1.01 (with the margin added, 0.97 would otherwise price at 0.99,
    which no book posts and the database refuses).
    """
    q_over = np.clip(np.asarray(p_over_no_push, float), 0.03, 0.97)
    over = np.maximum(np.round(1.0 / (q_over * (1.0 + overround)), 2), MIN_DECIMAL_ODDS)
    under = np.maximum(np.round(1.0 / ((1.0 - q_over) * (1.0 + overround)), 2), MIN_DECIMAL_ODDS)
    return over, under
