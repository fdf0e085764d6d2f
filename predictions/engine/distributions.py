"""From distribution parameters to P(over), P(under), P(push) at a book line.

Every prop stat is an integer count. Two families cover them (engine.sports.FAMILIES):

- ``negbin``: negative binomial with ``mean`` mu and ``dispersion`` alpha,
  variance mu + alpha * mu**2 (alpha -> 0 is Poisson). With r = 1/alpha and
  p = r / (r + mu), P(X <= k) = I_p(r, k + 1) (regularised incomplete beta).
- ``normal``: a normal rounded to the nearest integer, for large yardage totals (which can be
  negative), with ``mean`` mu and ``dispersion`` phi, variance phi * max(mu, 1): variance
  grows with volume like a count, and the floor keeps tiny means from collapsing the spread.
  P(X <= k) = Phi((k + 0.5 - mu) / sigma).

Lines: a half line (8.5) settles over or under; an integer line (8) pushes when the stat
lands exactly on it, so P(push) = P(X = line) and is zero for half lines. All functions are
vectorised over numpy arrays and broadcast their arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from predictions.engine.sports import FAMILIES

# Below this alpha the negative binomial is numerically a Poisson; the incomplete beta with
# r = 1/alpha that large loses accuracy, so switch to the Poisson formula.
_POISSON_ALPHA = 1e-8
_MIN_MEAN = 1e-6


@dataclass(frozen=True)
class OverUnderPush:
    p_over: np.ndarray
    p_under: np.ndarray
    p_push: np.ndarray


def check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown distribution family {family!r} (known: {', '.join(FAMILIES)})")


def normal_sigma(mean: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    return np.sqrt(np.asarray(dispersion, float) * np.maximum(np.asarray(mean, float), 1.0))


def _negbin_cdf_sf(mean, alpha, k):
    """(P(X <= k), P(X > k)) computed separately so small tails keep their precision."""
    mean = np.maximum(mean, _MIN_MEAN)
    poisson = alpha < _POISSON_ALPHA
    safe_alpha = np.where(poisson, 1.0, alpha)
    r = 1.0 / safe_alpha
    p = r / (r + mean)
    kk = np.maximum(k, 0.0)
    cdf_nb = special.betainc(r, kk + 1.0, p)
    sf_nb = special.betainc(kk + 1.0, r, 1.0 - p)
    cdf_po = special.gammaincc(kk + 1.0, mean)
    sf_po = special.gammainc(kk + 1.0, mean)
    cdf = np.where(poisson, cdf_po, cdf_nb)
    sf = np.where(poisson, sf_po, sf_nb)
    negative = k < 0
    return np.where(negative, 0.0, cdf), np.where(negative, 1.0, sf)


def _normal_cdf_sf(mean, phi, k):
    sigma = normal_sigma(mean, phi)
    z = (k + 0.5 - mean) / sigma
    return special.ndtr(z), special.ndtr(-z)


def cdf_sf(family: str, mean, dispersion, k) -> tuple[np.ndarray, np.ndarray]:
    """P(X <= k) and P(X > k) for integer-valued k (floats holding integers)."""
    check_family(family)
    mean, dispersion, k = np.broadcast_arrays(
        np.asarray(mean, float), np.asarray(dispersion, float), np.asarray(k, float)
    )
    if family == "negbin":
        return _negbin_cdf_sf(mean, dispersion, k)
    return _normal_cdf_sf(mean, dispersion, k)


def prob_over_under_push(family: str, mean, dispersion, line) -> OverUnderPush:
    """P(stat > line), P(stat < line), P(stat == line) for each row; they sum to 1."""
    line = np.asarray(line, float)
    floor_line = np.floor(line)
    integer_line = floor_line == line
    # Over needs stat >= floor(line) + 1 in both cases; under needs stat <= ceil(line) - 1.
    _, p_over = cdf_sf(family, mean, dispersion, floor_line)
    cdf_below, _ = cdf_sf(family, mean, dispersion, np.ceil(line) - 1.0)
    p_under = cdf_below
    p_push = np.where(integer_line, np.clip(1.0 - p_over - p_under, 0.0, 1.0), 0.0)
    return OverUnderPush(p_over=p_over, p_under=p_under, p_push=p_push)


def log_pmf(family: str, mean, dispersion, y) -> np.ndarray:
    """log P(X = y): the log score used to fit dispersions and ensemble weights."""
    check_family(family)
    mean, dispersion, y = np.broadcast_arrays(
        np.asarray(mean, float), np.asarray(dispersion, float), np.asarray(y, float)
    )
    if family == "negbin":
        mean = np.maximum(mean, _MIN_MEAN)
        alpha = np.maximum(dispersion, _POISSON_ALPHA)
        r = 1.0 / alpha
        support = y >= 0
        y = np.where(support, y, 0.0)
        log_probability = (
            special.gammaln(y + r)
            - special.gammaln(r)
            - special.gammaln(y + 1.0)
            + r * np.log(r / (r + mean))
            + y * np.log(mean / (r + mean))
        )
        return np.where(support, log_probability, -np.inf)
    sigma = normal_sigma(mean, dispersion)
    upper = special.log_ndtr((y + 0.5 - mean) / sigma)
    lower = special.log_ndtr((y - 0.5 - mean) / sigma)
    # log(exp(upper) - exp(lower)) without cancellation; floor guards a zero-width interval.
    return upper + np.log(np.maximum(-np.expm1(lower - upper), 1e-300))


def ppf(family: str, mean, dispersion, u) -> np.ndarray:
    """Inverse CDF: the smallest integer k with P(X <= k) >= u (used by the simulator)."""
    check_family(family)
    mean, dispersion, u = np.broadcast_arrays(
        np.asarray(mean, float), np.asarray(dispersion, float), np.asarray(u, float)
    )
    if family == "normal":
        sigma = normal_sigma(mean, dispersion)
        return np.round(mean + sigma * special.ndtri(u))
    # scipy.stats is imported where used: importing it costs ~1.7 s in a fresh
    # process (measured), which commands and pages that never draw samples skip.
    from scipy import stats

    mean = np.maximum(mean, _MIN_MEAN)
    r = 1.0 / np.maximum(dispersion, 1e-6)
    return stats.nbinom.ppf(u, r, r / (r + mean)).astype(float)


def fit_dispersion(family: str, mean, y) -> float:
    """Maximum-likelihood dispersion for fixed predicted means (one value for all rows).

    negbin: alpha maximising the summed log pmf, searched on log(alpha) in [1e-4, 20].
    normal: phi = mean of (y - mu)**2 / max(mu, 1), the closed-form normal MLE.
    """
    check_family(family)
    mean = np.asarray(mean, float)
    y = np.asarray(y, float)
    if family == "normal":
        return float(max(np.mean((y - mean) ** 2 / np.maximum(mean, 1.0)), 1e-3))
    # scipy.optimize is imported where used: importing it costs ~0.9 s in a fresh
    # process (measured), which commands and pages that never fit a dispersion skip.
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda log_alpha: -np.sum(log_pmf("negbin", mean, np.exp(log_alpha), y)),
        bounds=(np.log(1e-4), np.log(20.0)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))


def fit_dispersion_scale(family: str, mean, dispersion, y) -> float:
    """Maximum-likelihood factor c for per-row dispersions (c x dispersion), searched on
    log(c) in [1/20, 20]: one number that widens or narrows a model's own spread to match
    rows it was not trained on."""
    check_family(family)
    # scipy.optimize is imported where used: importing it costs ~0.9 s in a fresh
    # process (measured), which commands and pages that never fit a dispersion skip.
    from scipy.optimize import minimize_scalar

    mean = np.asarray(mean, float)
    dispersion = np.asarray(dispersion, float)
    y = np.asarray(y, float)
    result = minimize_scalar(
        lambda log_scale: -np.sum(log_pmf(family, mean, np.exp(log_scale) * dispersion, y)),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))
