"""The inputs of an optimization: opportunities and the user's limits, checked and compiled
into arrays (stakes as fractions of the bankroll)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Opportunity:
    """One bet that could be placed.

    ``event`` names the uncertain quantity the bet settles on (one prop: player, stat, game);
    bets on one event share one latent outcome, so over and under of one prop are mutually
    exclusive and the same prop at two books moves together. ``side`` "over" wins when the
    latent is high, "under" when it is low. ``game`` groups bets for the per-game cap.
    """

    key: str
    decimal_odds: float
    probability: float
    p_push: float = 0.0
    event: str = ""
    side: str = "over"
    game: str = ""
    book_max: float | None = None  # the book's maximum stake, in currency

    def __post_init__(self):
        if not (math.isfinite(self.decimal_odds) and self.decimal_odds > 1.0):
            raise ValueError(f"decimal_odds: must be > 1 (got {self.decimal_odds}) for {self.key}")
        if not (0.0 < self.probability < 1.0):
            raise ValueError(f"probability: must lie in (0, 1) (got {self.probability}) for {self.key}")
        if not (0.0 <= self.p_push < 1.0) or self.probability + self.p_push > 1.0 + 1e-12:
            raise ValueError(f"p_push: must lie in [0, 1 - probability] for {self.key}")
        if self.side not in ("over", "under"):
            raise ValueError(f"side: must be 'over' or 'under' for {self.key}")
        if self.book_max is not None and not self.book_max > 0:
            raise ValueError(f"book_max: must be > 0 for {self.key}")

    @property
    def edge(self) -> float:
        return self.probability * self.decimal_odds - 1.0


@dataclass(frozen=True)
class Limits:
    """The user's rules. Fractions are of the bankroll; stakes are in currency units."""

    bankroll: float
    max_exposure: float = 1.0
    max_per_bet: float = 1.0
    max_per_game: float = 1.0
    max_bets: int | None = None  # K: at most this many bets
    min_stake: float = 0.0
    increment: float = 0.0  # stakes in multiples of this (1 = whole units); 0 = any amount
    kelly_fraction: float = 1.0
    # Busseti, Ryu & Boyd (2016): P(wealth ever below alpha) <= beta, via E[W^-lambda] <= 1.
    risk_alpha: float | None = None
    risk_beta: float | None = None

    def __post_init__(self):
        errors = self.errors()
        if errors:
            field_name, message = next(iter(errors.items()))
            raise ValueError(f"{field_name}: {message}")

    def errors(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not (math.isfinite(self.bankroll) and self.bankroll > 0):
            out["bankroll"] = "must be a positive amount"
        for name in ("max_exposure", "max_per_bet", "max_per_game"):
            value = getattr(self, name)
            if not (0.0 < value <= 1.0):
                out[name] = "must be a fraction of the bankroll in (0, 1]"
        if self.max_bets is not None and self.max_bets < 1:
            out["max_bets"] = "must be at least 1"
        if self.min_stake < 0:
            out["min_stake"] = "must be >= 0"
        if self.increment < 0:
            out["increment"] = "must be >= 0"
        if not (0.0 < self.kelly_fraction <= 1.0):
            out["kelly_fraction"] = "must lie in (0, 1]"
        if out:
            return out
        smallest_cap = min(self.max_exposure, self.max_per_bet, self.max_per_game) * self.bankroll
        if self.min_stake > smallest_cap:
            out["min_stake"] = f"is above the smallest cap ({smallest_cap:g}): no bet could be placed"
        if self.increment > smallest_cap:
            out["increment"] = f"is above the smallest cap ({smallest_cap:g}): no bet could be placed"
        if (self.risk_alpha is None) != (self.risk_beta is None):
            out["risk_alpha" if self.risk_alpha is None else "risk_beta"] = "risk_alpha and risk_beta go together"
        elif self.risk_alpha is not None:
            if not (0.0 < self.risk_alpha < 1.0):
                out["risk_alpha"] = "must lie in (0, 1)"
            if not (0.0 < self.risk_beta < 1.0):
                out["risk_beta"] = "must lie in (0, 1)"
        return out

    @property
    def risk_lambda(self) -> float | None:
        if self.risk_alpha is None:
            return None
        return math.log(self.risk_beta) / math.log(self.risk_alpha)

    @property
    def unit(self) -> float:
        """The stake increment as a fraction of the bankroll (0 = continuous)."""
        return self.increment / self.bankroll

    @property
    def min_fraction(self) -> float:
        return self.min_stake / self.bankroll

    @property
    def discrete(self) -> bool:
        return self.max_bets is not None or self.min_stake > 0 or self.increment > 0


@dataclass
class Constraints:
    """Linear limits on the stake fractions f: lower <= f <= upper, per-game sums <= game_caps,
    sum <= total. ``game_of[i]`` is the index of bet i's game (-1: none)."""

    upper: np.ndarray
    game_of: np.ndarray
    game_caps: np.ndarray
    total: float
    lower: np.ndarray = field(default=None)

    def __post_init__(self):
        if self.lower is None:
            self.lower = np.zeros_like(self.upper)

    def restricted(self, *, lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> Constraints:
        return Constraints(
            upper=self.upper if upper is None else upper,
            game_of=self.game_of,
            game_caps=self.game_caps,
            total=self.total,
            lower=self.lower if lower is None else lower,
        )

    def feasible(self, stakes: np.ndarray, *, tol: float = 1e-9) -> bool:
        if np.any(stakes < self.lower - tol) or np.any(stakes > self.upper + tol):
            return False
        if stakes.sum() > self.total + tol:
            return False
        return bool(np.all(self.game_sums(stakes) <= self.game_caps + tol))

    def game_sums(self, stakes: np.ndarray) -> np.ndarray:
        grouped = self.game_of >= 0
        return np.bincount(self.game_of[grouped], weights=stakes[grouped], minlength=self.game_caps.size)


def compile_constraints(opportunities: list[Opportunity], limits: Limits) -> Constraints:
    """The limits as arrays of fractions of the bankroll. Kelly's fraction is applied by the
    optimizer (it scales the returns), not here."""
    upper = np.full(len(opportunities), limits.max_per_bet)
    for index, opportunity in enumerate(opportunities):
        if opportunity.book_max is not None:
            upper[index] = min(upper[index], opportunity.book_max / limits.bankroll)
    games: dict[str, int] = {}
    game_of = np.array([games.setdefault(o.game, len(games)) if o.game else -1 for o in opportunities], dtype=np.int64)
    return Constraints(
        upper=upper,
        game_of=game_of,
        game_caps=np.full(len(games), limits.max_per_game),
        total=limits.max_exposure,
    )
