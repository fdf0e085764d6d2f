"""The ensemble's explanation of its two outputs, additive by construction.

Output 1, the predicted mean in stat units. Member k explains its output f_k = b_k + sum_j
phi_kj in its own space (log mean, or the mean for an identity-link member). Its mean moves
from mu(b_k) to mu(f_k); each feature gets the share of that move its log-scale value has:

    m_kj = phi_kj x (mu(f_k) - mu(b_k)) / (f_k - b_k)

(for the log link the ratio is exp(b_k) x expm1(d)/d with d = f_k - b_k, exp(b_k) as d -> 0;
for the identity link it is 1). The ensemble's mean is sum_k w_k mu_k, so its base is
sum_k w_k mu(b_k) and feature j's contribution sum_k w_k m_kj. These add up exactly to the
members' explained means; the measured additivity error is the gap to the mean actually served.

Output 2, P(over) at the line (with the book's de-vigged price, when there is one, pooled in
by the line temperatures exactly as serving prices it). The base is the price the ensemble
would give if every member predicted its base mean, with this row's dispersions, line and
odds; the move Delta P = P(x) - P(base) is shared among features in proportion to their
stat-mean contributions:

    p_j = m_j x Delta P / Delta mean,   Delta mean = sum_j m_j

so sum_j p_j = Delta P exactly. For a move too small to divide by, the ratio is the
derivative dP/dmean (a central difference moving every member's mean by the same amount).
bench/explain.py measures how close this is to model-agnostic Shapley values of P(over).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictions.engine.calibration import temper
from predictions.engine.fast_pricing import line_prices, scalar_book_logit, scalar_mixture_prices

# Below this |Delta mean| (stat units) the ratio Delta P / Delta mean is taken as a derivative.
_SMALL_MOVE = 1e-6
# Up to this many rows (one explained row is two: its price and its base price) P(over) is
# priced in Python floats, as serving prices one prop: numpy's per-call overhead on tiny
# arrays costs more than the maths.
SCALAR_ROWS = 8


@dataclass(frozen=True)
class OutputExplanation:
    """One output's explanation for a batch: base + values.sum(axis=1) = explained value."""

    output: str  # "mean" (stat units) or "p_over" (probability at the line)
    base: np.ndarray  # (n,)
    values: np.ndarray  # (n, f)
    value: np.ndarray  # (n,) what the model serves
    additivity_error: np.ndarray  # (n,) |base + sum(values) - value|


def link_mean(link: str, value: np.ndarray) -> np.ndarray:
    return np.exp(value) if link == "log" else np.asarray(value, np.float64)


def _mean_slope(link: str, base: np.ndarray, explained: np.ndarray) -> np.ndarray:
    """(mu(f) - mu(b)) / (f - b), exact and stable as f -> b."""
    if link != "log":
        return np.ones_like(base)
    delta = explained - base
    small = np.abs(delta) < 1e-12
    ratio = np.where(small, 1.0, np.expm1(delta) / np.where(small, 1.0, delta))
    return np.exp(base) * ratio


def member_mean_values(member_values) -> tuple[np.ndarray, np.ndarray]:
    """(base mean, per-feature stat-mean contributions) of one member (module docstring)."""
    explained = member_values.base + member_values.values.sum(axis=1)
    slope = _mean_slope(member_values.link, member_values.base, explained)
    return link_mean(member_values.link, member_values.base), member_values.values * slope[:, None]


def ensemble_mean(members, weights) -> tuple[np.ndarray, np.ndarray]:
    """(base, values) of the ensemble's mean in stat units from its members' values."""
    base, values = 0.0, 0.0
    for weight, member in zip(weights, members, strict=True):
        member_base, member_values = member_mean_values(member)
        base = base + weight * member_base
        values = values + weight * member_values
    return np.asarray(base, np.float64), np.asarray(values, np.float64)


@dataclass(frozen=True)
class Pricing:
    """What serving prices with: the ensemble's weights, line temperatures and family."""

    family: str
    weights: np.ndarray
    member_temperatures: np.ndarray
    ensemble_temperature: float

    @classmethod
    def of(cls, ensemble) -> Pricing:
        return cls(
            family=ensemble.family,
            weights=np.asarray(ensemble.weights, np.float64),
            member_temperatures=np.array([member.line_temperature for member in ensemble.members], np.float64),
            ensemble_temperature=float(ensemble.line_temperature),
        )

    def prices(self, member_means, member_dispersions, lines, anchors) -> dict[str, np.ndarray]:
        """The ensemble's mean and P(over/under/push) from each member's mean and dispersion
        (n, K), as predictions.serving prices them (Ensemble.predict_proba's maths): up to
        ``SCALAR_ROWS`` rows one at a time in Python floats, more as arrays."""
        lines = np.asarray(lines, np.float64).reshape(-1)
        if len(lines) <= SCALAR_ROWS:
            return self._prices_by_row(member_means, member_dispersions, lines, anchors)
        lines = lines.reshape(-1, 1)
        anchor_column = None if anchors is None else np.asarray(anchors, np.float64).reshape(-1, 1)
        over, under, push = line_prices(self.family, member_means, member_dispersions, lines)
        over, under, push = temper(over, under, push, self.member_temperatures, anchor_column)
        mixed = temper(
            (over @ self.weights)[:, None],
            (under @ self.weights)[:, None],
            (push @ self.weights)[:, None],
            self.ensemble_temperature,
            anchor_column,
        )
        return {
            "mean": member_means @ self.weights,
            "p_over": mixed[0][:, 0],
            "p_under": mixed[1][:, 0],
            "p_push": push @ self.weights,
        }

    def p_over(self, member_means, member_dispersions, lines, anchors) -> np.ndarray:
        return self.prices(member_means, member_dispersions, lines, anchors)["p_over"]

    def _prices_by_row(self, member_means, member_dispersions, lines, anchors) -> dict[str, np.ndarray]:
        weights, temperatures = self.weights.tolist(), self.member_temperatures.tolist()
        anchors = [None] * len(lines) if anchors is None else np.asarray(anchors, np.float64).reshape(-1).tolist()
        rows = [
            scalar_mixture_prices(
                self.family,
                means,
                dispersions,
                weights,
                temperatures,
                self.ensemble_temperature,
                line,
                scalar_book_logit(anchor),
            )
            for means, dispersions, line, anchor in zip(
                np.asarray(member_means, np.float64).tolist(),
                np.asarray(member_dispersions, np.float64).tolist(),
                lines.tolist(),
                anchors,
                strict=True,
            )
        ]
        return {
            "mean": np.array([row.mean for row in rows]),
            "p_over": np.array([row.p_over for row in rows]),
            "p_under": np.array([row.p_under for row in rows]),
            "p_push": np.array([row.p_push for row in rows]),
        }


def p_over_explanation(
    pricing: Pricing,
    *,
    member_means: np.ndarray,
    member_base_means: np.ndarray,
    member_dispersions: np.ndarray,
    mean_values: np.ndarray,
    lines,
    anchors,
) -> OutputExplanation:
    """P(over)'s attribution (module docstring). ``member_means``, ``member_base_means`` and
    ``member_dispersions`` have shape (n, K); ``mean_values`` (n, f) are the ensemble's
    stat-mean contributions."""
    # The served price and the base price in one distribution call (2n rows).
    n = len(member_means)
    lines = np.asarray(lines, np.float64).reshape(-1)
    both = pricing.p_over(
        np.vstack([member_means, member_base_means]),
        np.vstack([member_dispersions, member_dispersions]),
        np.concatenate([lines, lines]),
        None if anchors is None else np.concatenate([np.asarray(anchors, np.float64).reshape(-1)] * 2),
    )
    value, base = both[:n], both[n:]
    delta_mean = mean_values.sum(axis=1)
    small = np.abs(delta_mean) < _SMALL_MOVE
    ratio = np.divide(value - base, delta_mean, out=np.zeros_like(delta_mean), where=~small)
    if small.any():
        step = 1e-4 * np.maximum(1.0, np.abs(member_means[small]).max(axis=1, keepdims=True))
        sub_lines = np.asarray(lines, np.float64).reshape(-1)[small]
        sub_anchors = None if anchors is None else np.asarray(anchors, np.float64).reshape(-1)[small]
        up = pricing.p_over(member_means[small] + step, member_dispersions[small], sub_lines, sub_anchors)
        down = pricing.p_over(
            np.maximum(member_means[small] - step, 1e-6), member_dispersions[small], sub_lines, sub_anchors
        )
        ratio[small] = (up - down) / (2 * step[:, 0])
    values = mean_values * ratio[:, None]
    error = np.abs(base + values.sum(axis=1) - value)
    return OutputExplanation("p_over", base, values, value, error)
