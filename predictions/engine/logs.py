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
