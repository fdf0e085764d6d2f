"""Removing the book's margin ("vig") from the prices of one market.

Each method maps the decimal odds of a market's mutually exclusive outcomes to probabilities
that sum to one. Sources: Štrumbelj (2014) "On determining probability forecasts from betting
odds" (multiplicative, Shin); Clarke, Kovalchik & Ingram (2017) "Adjusting bookmaker's odds to
allow for overround" (additive, power); Shin (1993) for the insider-trading model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

METHODS = ("multiplicative", "additive", "power", "shin")

# SCIPY_OPTIMIZE_ON_FIRST_USE: scipy.optimize is imported where a root is solved for (the
# power and Shin methods), not at import: it costs ~40 MB and ~0.9 s, and a server process
# that never prices a portfolio by those methods need not pay them.


def _implied(decimal_odds: Sequence[float]) -> np.ndarray:
    odds = np.asarray(decimal_odds, dtype=float)
    if odds.ndim != 1 or odds.size < 2:
        raise ValueError("decimal_odds: a market needs at least two outcomes")
    if not np.all(np.isfinite(odds)) or np.any(odds <= 1.0):
        raise ValueError("decimal_odds: every price must be a finite number > 1")
    return 1.0 / odds


def devig_multiplicative(decimal_odds: Sequence[float]) -> np.ndarray:
    implied = _implied(decimal_odds)
    return implied / implied.sum()


def devig_additive(decimal_odds: Sequence[float]) -> np.ndarray:
    """Subtract the same amount from each implied probability. It can go below zero for a long
    shot in a market with a large margin; such outcomes are clipped to zero and the rest renormalised."""
    implied = _implied(decimal_odds)
    probabilities = implied - (implied.sum() - 1.0) / implied.size
    probabilities = np.clip(probabilities, 0.0, None)
    return probabilities / probabilities.sum()


def devig_power(decimal_odds: Sequence[float]) -> np.ndarray:
    """p_i = q_i ** k with k chosen so the p_i sum to one."""
    implied = _implied(decimal_odds)
    total = implied.sum()
    if math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-15):
        return implied.copy()
    log_q = np.log(implied)

    def excess(k: float) -> float:
        return float(np.exp(k * log_q).sum() - 1.0)

    # sum(q^k) is decreasing in k (every q < 1); k = 1 gives the overround.
    low, high = (1.0, 2.0) if total > 1.0 else (0.5, 1.0)
    while excess(high) > 0:
        high *= 2.0
    while excess(low) < 0:
        low /= 2.0
    from scipy.optimize import brentq  # on first use: see SCIPY_OPTIMIZE_ON_FIRST_USE

    exponent = brentq(excess, low, high, xtol=1e-14, rtol=1e-14)
    probabilities = np.exp(exponent * log_q)
    return probabilities / probabilities.sum()


def devig_shin(decimal_odds: Sequence[float]) -> np.ndarray:
    """Shin's model: a share z of the money comes from insiders; solve for z so the
    probabilities p_i = (sqrt(z^2 + 4(1-z) q_i^2 / Q) - z) / (2(1-z)) sum to one (Q = sum q_i)."""
    implied = _implied(decimal_odds)
    total = implied.sum()
    if total <= 1.0:
        return implied / total

    def probabilities_at(z: float) -> np.ndarray:
        return (np.sqrt(z * z + 4.0 * (1.0 - z) * implied**2 / total) - z) / (2.0 * (1.0 - z))

    from scipy.optimize import brentq  # on first use: see SCIPY_OPTIMIZE_ON_FIRST_USE

    z = brentq(lambda z: probabilities_at(z).sum() - 1.0, 0.0, 0.999, xtol=1e-14, rtol=1e-14)
    probabilities = probabilities_at(z)
    return probabilities / probabilities.sum()


_BY_NAME = {
    "multiplicative": devig_multiplicative,
    "additive": devig_additive,
    "power": devig_power,
    "shin": devig_shin,
}


def devig(decimal_odds: Sequence[float], *, method: str = "multiplicative") -> np.ndarray:
    """The book's probabilities of a market's outcomes with its margin removed by ``method``."""
    try:
        function = _BY_NAME[method]
    except KeyError:
        raise ValueError(f"method: unknown de-vig method {method!r}; choose one of {', '.join(METHODS)}") from None
    return function(decimal_odds)


def edge(*, probability: float, decimal_odds: float) -> float:
    """Expected profit per unit staked: p * odds - 1."""
    return probability * decimal_odds - 1.0


def kelly_fraction(*, probability: float, decimal_odds: float, p_push: float = 0.0) -> float:
    """The single-bet Kelly stake as a fraction of the bankroll (zero without an edge).

    With a push (stake returned) of probability p_push, the loss probability is
    q = 1 - p - p_push; the optimum of p log(1 + b f) + q log(1 - f) is
    f = (p b - q) / (b (p + q)), b = odds - 1 (f = (p b - q) / b without pushes).
    """
    b = decimal_odds - 1.0
    q = 1.0 - probability - p_push
    if b <= 0 or probability <= 0:
        return 0.0
    return max(0.0, (probability * b - q) / (b * (probability + q)))
