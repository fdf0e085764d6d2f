"""Grading of settled props and the live metrics of a model version (no Django).

A settled prop has an outcome: over, under or push (an integer line hit exactly). For the
binary metrics a push is excluded (the stake is refunded) and the model's probability is
taken conditional on no push, P(over | no push) = p_over / (p_over + p_under), the same
convention as the training metrics (metrics.py), so live and validation numbers compare.

- log loss: -log P(outcome | no push)
- Brier: (P(over | no push) - 1[over])²
- hit: the side the model favours (over when P(over) > P(under)) won
- CLV (closing-line value) of that side, when the closing price of the same line is known:
  taken decimal odds × fair closing probability − 1, the fair probability by proportional
  de-vigging of the closing two-way price (positive: the bet beat the close).

Live log loss per version is an exponentially weighted mean (half-life in graded props), so
it follows recent form; drift is flagged when it exceeds the validation log loss by a margin
once enough props are graded. A challenger's comparison with the champion uses paired
per-prop differences on the props both scored, with a normal-approximation 95 % interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from predictions.engine.logs import devig_proportional
from predictions.engine.models import ewm_update

OVER, UNDER, PUSH = "over", "under", "push"
# Probabilities are clipped before the log so one confident miss costs a bounded amount.
_EPS = 1e-6


def outcome(value: float, line: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"result value must be finite, got {value!r}")
    if value > line:
        return OVER
    if value < line:
        return UNDER
    return PUSH


@dataclass(frozen=True)
class GradedProp:
    outcome: str
    log_loss: float | None  # None for a push
    brier: float | None
    hit: bool | None
    clv: float | None


def grade(
    *,
    p_over: float,
    p_under: float,
    value: float,
    line: float,
    taken_over_odds: float | None = None,
    taken_under_odds: float | None = None,
    closing_line: float | None = None,
    closing_over_odds: float | None = None,
    closing_under_odds: float | None = None,
) -> GradedProp:
    result = outcome(value, line)
    if result == PUSH:
        return GradedProp(PUSH, None, None, None, None)
    total = p_over + p_under
    if not total > 0:
        raise ValueError(f"p_over + p_under must be positive, got {total!r}")
    p_over_cond = min(max(p_over / total, _EPS), 1 - _EPS)
    went_over = result == OVER
    log_loss = -math.log(p_over_cond if went_over else 1 - p_over_cond)
    brier = (p_over_cond - (1.0 if went_over else 0.0)) ** 2
    favours_over = p_over >= p_under
    hit = favours_over == went_over
    clv = None
    if (
        closing_line is not None
        and closing_line == line
        and closing_over_odds
        and closing_under_odds
        and (taken_over_odds if favours_over else taken_under_odds)
    ):
        fair_close_over = float(devig_proportional(closing_over_odds, closing_under_odds))
        fair_close = fair_close_over if favours_over else 1 - fair_close_over
        taken = taken_over_odds if favours_over else taken_under_odds
        clv = taken * fair_close - 1
    return GradedProp(result, log_loss, brier, hit, clv)


@dataclass(frozen=True)
class LiveMetrics:
    """Running totals and an exponentially weighted log loss for one model version."""

    n_graded: int = 0
    n_push: int = 0
    sum_log_loss: float = 0.0
    sum_brier: float = 0.0
    hits: int = 0
    n_clv: int = 0
    sum_clv: float = 0.0
    ewm_log_loss: float | None = None

    @property
    def log_loss(self) -> float | None:
        return self.sum_log_loss / self.n_graded if self.n_graded else None

    @property
    def brier(self) -> float | None:
        return self.sum_brier / self.n_graded if self.n_graded else None

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.n_graded if self.n_graded else None

    @property
    def clv(self) -> float | None:
        return self.sum_clv / self.n_clv if self.n_clv else None

    def as_dict(self) -> dict:
        return {
            "n_graded": self.n_graded,
            "n_push": self.n_push,
            "log_loss": self.log_loss,
            "brier": self.brier,
            "hit_rate": self.hit_rate,
            "clv": self.clv,
            "n_clv": self.n_clv,
            "ewm_log_loss": self.ewm_log_loss,
            "sum_log_loss": self.sum_log_loss,
            "sum_brier": self.sum_brier,
            "hits": self.hits,
            "sum_clv": self.sum_clv,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> LiveMetrics:
        if not data:
            return cls()
        return cls(
            n_graded=int(data.get("n_graded", 0)),
            n_push=int(data.get("n_push", 0)),
            sum_log_loss=float(data.get("sum_log_loss", 0.0)),
            sum_brier=float(data.get("sum_brier", 0.0)),
            hits=int(data.get("hits", 0)),
            n_clv=int(data.get("n_clv", 0)),
            sum_clv=float(data.get("sum_clv", 0.0)),
            ewm_log_loss=data.get("ewm_log_loss"),
        )


def accumulate(metrics: LiveMetrics, graded: list[GradedProp], *, halflife: float) -> LiveMetrics:
    n_graded, n_push, sum_ll, sum_brier, hits = (
        metrics.n_graded,
        metrics.n_push,
        metrics.sum_log_loss,
        metrics.sum_brier,
        metrics.hits,
    )
    n_clv, sum_clv, ewm = metrics.n_clv, metrics.sum_clv, metrics.ewm_log_loss
    for prop in graded:
        if prop.outcome == PUSH:
            n_push += 1
            continue
        n_graded += 1
        sum_ll += prop.log_loss
        sum_brier += prop.brier
        hits += int(prop.hit)
        ewm = ewm_update(math.nan if ewm is None else ewm, prop.log_loss, halflife=halflife)
        if prop.clv is not None:
            n_clv += 1
            sum_clv += prop.clv
    return LiveMetrics(n_graded, n_push, sum_ll, sum_brier, hits, n_clv, sum_clv, ewm)


def drift_detected(metrics: LiveMetrics, *, validation_log_loss: float | None, margin: float, min_graded: int) -> bool:
    """True when recent live log loss exceeds the validation value by more than ``margin``."""
    if validation_log_loss is None or metrics.ewm_log_loss is None or metrics.n_graded < min_graded:
        return False
    return metrics.ewm_log_loss > validation_log_loss + margin


@dataclass(frozen=True)
class PairedComparison:
    n: int
    mean_difference: float  # challenger − champion log loss: negative means the challenger is better
    ci_low: float
    ci_high: float

    @property
    def challenger_better(self) -> bool:
        return self.n > 1 and self.ci_high < 0


def paired_log_loss_difference(challenger: np.ndarray, champion: np.ndarray) -> PairedComparison:
    """Mean per-prop log-loss difference on the same props, with a 95 % normal interval."""
    challenger, champion = np.asarray(challenger, float), np.asarray(champion, float)
    if challenger.shape != champion.shape:
        raise ValueError("challenger and champion must be graded on the same props")
    differences = challenger - champion
    n = differences.size
    if n == 0:
        return PairedComparison(0, float("nan"), float("nan"), float("nan"))
    mean = float(differences.mean())
    if n == 1:
        return PairedComparison(1, mean, float("-inf"), float("inf"))
    half_width = 1.959964 * float(differences.std(ddof=1)) / math.sqrt(n)
    return PairedComparison(n, mean, mean - half_width, mean + half_width)
