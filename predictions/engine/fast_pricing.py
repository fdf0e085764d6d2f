"""Pricing for the serving hot path: the engine's distribution and calibration maths, cut to
what one prop or one batch needs (measured by bench/predict.py; tests check each equals the
engine function it stands for). Pure numpy/scipy, no Django."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

from predictions.engine.calibration import _ANCHOR_CLIP
from predictions.engine.distributions import _MIN_MEAN, _POISSON_ALPHA, cdf_sf
from predictions.engine.models.base import LOG_DISPERSION_RANGE, LOG_MEAN_RANGE, log_offset

# Below this upper tail, P(X > k) is evaluated directly rather than as 1 - P(X <= k).
SF_DIRECT_BELOW = 1e-6


def fast_cdf_sf(family: str, mean: np.ndarray, dispersion: np.ndarray, k: np.ndarray):
    """engine.distributions.cdf_sf. For the negative binomial with every alpha above the
    engine's Poisson switch (the usual case) it evaluates one incomplete-beta term per entry
    where the engine evaluates four: the CDF, and the upper tail as 1 - CDF except where
    that tail is under 1e-6, which gets its own term (so both keep ~1e-10 relative accuracy).
    Half the cost of a 10,000-row batch's distribution step."""
    if family == "negbin" and np.all(dispersion >= _POISSON_ALPHA) and np.all(k >= 0):
        mean, dispersion, k = np.broadcast_arrays(np.maximum(mean, _MIN_MEAN), dispersion, k)
        r = 1.0 / dispersion
        p = r / (r + mean)
        cdf = special.betainc(r, k + 1.0, p)
        sf = 1.0 - cdf
        thin = sf < SF_DIRECT_BELOW
        if thin.any():
            sf[thin] = special.betainc(k[thin] + 1.0, r[thin], 1.0 - p[thin])
        return cdf, sf
    return cdf_sf(family, mean, dispersion, k)


def line_prices(family: str, mean, dispersion, lines) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """engine.distributions.prob_over_under_push, with one distribution call where it needs
    two: for a half line, P(under) is the CDF at the same integer whose tail is P(over)."""
    lines = np.broadcast_to(lines, mean.shape)
    floor_line = np.floor(lines)
    integer_line = floor_line == lines
    cdf, sf = fast_cdf_sf(family, mean, dispersion, floor_line)
    p_over = sf
    if not integer_line.any():
        return p_over, cdf, np.zeros_like(p_over)
    rows = np.flatnonzero(integer_line.any(axis=1))
    below, _ = fast_cdf_sf(family, mean[rows], dispersion[rows], floor_line[rows] - 1.0)
    p_under = cdf.copy()
    p_under[rows] = np.where(integer_line[rows], below, cdf[rows])
    p_push = np.where(integer_line, np.clip(1.0 - p_over - p_under, 0.0, 1.0), 0.0)
    return p_over, p_under, p_push


def scalar_cdf_sf(family: str, mean: float, dispersion: float, k: float) -> tuple[float, float]:
    """engine.distributions.cdf_sf for one value (P(X <= k), P(X > k))."""
    if family == "negbin":
        if k < 0:
            return 0.0, 1.0
        mean = max(mean, _MIN_MEAN)
        if dispersion < _POISSON_ALPHA:
            return float(special.gammaincc(k + 1.0, mean)), float(special.gammainc(k + 1.0, mean))
        r = 1.0 / dispersion
        p = r / (r + mean)
        return float(special.betainc(r, k + 1.0, p)), float(special.betainc(k + 1.0, r, 1.0 - p))
    sigma = math.sqrt(dispersion * max(mean, 1.0))
    z = (k + 0.5 - mean) / sigma
    return float(special.ndtr(z)), float(special.ndtr(-z))


def scalar_prices(family: str, mean: float, dispersion: float, line: float) -> tuple[float, float, float]:
    """engine.distributions.prob_over_under_push for one value."""
    floor_line = math.floor(line)
    cdf, p_over = scalar_cdf_sf(family, mean, dispersion, float(floor_line))
    if floor_line != line:
        return p_over, cdf, 0.0
    p_under, _ = scalar_cdf_sf(family, mean, dispersion, float(floor_line) - 1.0)
    return p_over, p_under, min(max(1.0 - p_over - p_under, 0.0), 1.0)


def scalar_book_logit(anchor: float | None) -> float | None:
    """engine.calibration.book_logits for one value: None where no book priced the line."""
    if anchor is None or anchor != anchor:
        return None
    anchor = min(max(anchor, _ANCHOR_CLIP), 1.0 - _ANCHOR_CLIP)
    return math.log(anchor) - math.log1p(-anchor)


def scalar_temper(
    p_over: float, p_under: float, p_push: float, temperature: float, book_logit: float | None
) -> tuple[float, float]:
    """engine.calibration.temper for one value (``book_logit``: ``scalar_book_logit`` of the anchor;
    None: no book, the price stays the model's)."""
    if temperature == 1.0 or book_logit is None:
        return p_over, p_under
    conditional = min(max(p_over / max(p_over + p_under, 1e-12), 1e-12), 1.0 - 1e-12)
    logit = math.log(conditional) - math.log1p(-conditional)
    tempered = 1.0 / (1.0 + math.exp(-(book_logit + temperature * (logit - book_logit))))
    no_push = 1.0 - p_push
    return no_push * tempered, no_push * (1.0 - tempered)


class MixturePrices(NamedTuple):
    """One row's ensemble prices (``scalar_mixture_prices``), in Python floats."""

    p_over: float
    p_under: float
    p_push: float
    mean: float
    members: list[tuple[float, float]]  # each member's tempered (p_over, p_under)


def scalar_mixture_prices(
    family: str,
    means: list[float],
    dispersions: list[float],
    weights: list[float],
    temperatures: list[float],
    ensemble_temperature: float,
    line: float,
    book_logit: float | None,
) -> MixturePrices:
    """engine.models.Ensemble.predict_proba for one row from its members' parameters: each
    member's price at ``line``, pooled with the book (``scalar_book_logit``; None: no book) by
    its own temperature, mixed by ``weights`` and pooled again by the ensemble's."""
    members = []
    mixed_over = mixed_under = mixed_push = mixed_mean = 0.0
    for weight, mean, dispersion, temperature in zip(weights, means, dispersions, temperatures, strict=True):
        p_over, p_under, p_push = scalar_prices(family, mean, dispersion, line)
        p_over, p_under = scalar_temper(p_over, p_under, p_push, temperature, book_logit)
        members.append((p_over, p_under))
        mixed_over += weight * p_over
        mixed_under += weight * p_under
        mixed_push += weight * p_push
        mixed_mean += weight * mean
    p_over, p_under = scalar_temper(mixed_over, mixed_under, mixed_push, ensemble_temperature, book_logit)
    return MixturePrices(p_over, p_under, mixed_push, mixed_mean, members)


class NumpyMLP:
    """The torch member's network as numpy float32 matrices (Linear → ReLU → ... → Linear),
    from ``TorchDistModel.numpy_layers()``: (weight transposed, bias) per Linear layer."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.layers = [(np.ascontiguousarray(weight), bias) for weight, bias in layers]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        last = len(self.layers) - 1
        for index, (weight, bias) in enumerate(self.layers):
            x = x @ weight + bias
            if index < last:
                np.maximum(x, 0.0, out=x)
        return x


def torch_params(member, mlp: NumpyMLP, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The torch member's (mean, dispersion), as TorchDistModel.predict_params computes them
    (its standardisation, offset and clipping; np.minimum/maximum are np.clip without its
    per-call overhead on one row)."""
    scaled = (X - member.feature_mean) / member.feature_scale
    scaled[~np.isfinite(scaled)] = 0.0
    output = mlp(scaled.astype(np.float32)).astype(np.float64)
    row_offset = log_offset(X, member.schema, member.offset_feature)
    log_mean = output[:, 0] if row_offset is None else output[:, 0] + row_offset
    low, high = LOG_MEAN_RANGE
    mean = np.exp(np.minimum(np.maximum(log_mean, low), high))
    low, high = LOG_DISPERSION_RANGE
    dispersion = np.exp(np.minimum(np.maximum(output[:, 1], low), high)) * member.dispersion_scale
    return mean, dispersion
