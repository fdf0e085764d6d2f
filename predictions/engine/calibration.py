"""Calibration of P(over) at book lines: a line temperature that pools the model's price with
the book's, fitted on validation props.

Why: a model's predictive distribution can be calibrated on its own and still be
over-confident at the book's line, because the book's line and prices are themselves an
estimate of the player's distribution, and often a sharper one than ours. Where our price
differs from the book's, the truth usually lies between the two. The book's line is never a
model input (features, training targets and the point forecast are our own); instead, at a
line a book priced, the served price is a logarithmic pool of the model's and the book's
de-vigged price, with one number per model, the temperature T, fitted by maximum likelihood
on the validation period's settled props:

    logit P'(over | no push) = logit B + T x (logit P(over | no push) - logit B),

where B is the book's P(over | no push) with its margin removed proportionally
(engine.logs.devig_proportional), and P(push) is unchanged, so over, under and push still sum
to one. T = 1 is the model alone, T = 0 the book alone. This is Platt scaling with the book's
logit as a fixed offset (Platt 1999; Guo et al. 2017 call the one-parameter form temperature
scaling), or a two-forecaster logarithmic opinion pool with weights T and 1 - T.

Where no book priced the line (a line of one's own, no odds given), B is taken as 1/2: the
line is treated as a book's main line at even odds, which is where the book's main lines sit.
That is the earlier form of this calibration, and its limit: far from the book's line it
pulls P(over) toward 1/2 too (docs/predictions.md).

Before the book's price was used (B = 1/2 at every line), an alternate or low-count line
priced away from even odds showed a large false edge: the model's price was pulled toward
1/2 where the book's sat at, say, 0.2.
"""

from __future__ import annotations

import numpy as np

# Fewer settled validation props than this leave the temperature at 1: one number fitted on
# a handful of outcomes would be noise.
MIN_CALIBRATION_PROPS = 100
TEMPERATURE_BOUNDS = (0.02, 3.0)
_EPSILON = 1e-12
# A book's de-vigged probability is kept inside this band before its logit is taken.
_ANCHOR_CLIP = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def anchor_logit(anchor, shape) -> np.ndarray:
    """The logit of each row's book probability B (``anchor``: P(over | no push) with the
    margin removed, NaN or None where no book priced the line), 0 (B = 1/2) where missing."""
    if anchor is None:
        return np.zeros(shape)
    anchor = np.broadcast_to(np.asarray(anchor, float), shape)
    return _logit(np.clip(np.where(np.isnan(anchor), 0.5, anchor), _ANCHOR_CLIP, 1.0 - _ANCHOR_CLIP))


def temper(p_over, p_under, p_push, temperature: float, anchor=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p_over, p_under, p_push) with P(over | no push) pooled with the book's ``anchor`` (see
    the module docstring; None or NaN: 1/2) by ``temperature``."""
    p_over = np.asarray(p_over, float)
    p_under = np.asarray(p_under, float)
    p_push = np.asarray(p_push, float)
    if temperature == 1.0:
        return p_over, p_under, p_push
    settled = np.maximum(p_over + p_under, _EPSILON)
    conditional = np.clip(p_over / settled, _EPSILON, 1.0 - _EPSILON)
    book = anchor_logit(anchor, conditional.shape)
    tempered = 1.0 / (1.0 + np.exp(-(book + temperature * (_logit(conditional) - book))))
    no_push = 1.0 - p_push
    return no_push * tempered, no_push * (1.0 - tempered), p_push


def _log_loss(temperature: float, logit: np.ndarray, book: np.ndarray, went_over: np.ndarray) -> float:
    margin = book + temperature * (logit - book)
    # -log sigmoid(m) for an over, -log sigmoid(-m) for an under, without overflow.
    return float(np.mean(np.logaddexp(0.0, np.where(went_over, -margin, margin))))


def fit_line_temperature(
    p_over, p_under, actual, line, *, anchor=None, min_props: int = MIN_CALIBRATION_PROPS
) -> float:
    """The temperature minimising the log loss of the pooled P(over | no push) on settled
    props (pushes, which refund the bet, are left out as in engine.metrics), with each prop's
    book ``anchor`` (None: 1/2 for all); 1.0 below ``min_props``."""
    from scipy.optimize import minimize_scalar

    actual = np.asarray(actual, float)
    line = np.asarray(line, float)
    settled = actual != line
    if settled.sum() < min_props:
        return 1.0
    p_over = np.asarray(p_over, float)[settled]
    p_under = np.asarray(p_under, float)[settled]
    conditional = np.clip(p_over / np.maximum(p_over + p_under, _EPSILON), 1e-9, 1.0 - 1e-9)
    logit = _logit(conditional)
    book = anchor_logit(None if anchor is None else np.asarray(anchor, float)[settled], logit.shape)
    went_over = actual[settled] > line[settled]
    low, high = np.log(TEMPERATURE_BOUNDS[0]), np.log(TEMPERATURE_BOUNDS[1])
    result = minimize_scalar(
        lambda log_t: _log_loss(np.exp(log_t), logit, book, went_over),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-5},
    )
    temperature = float(np.exp(result.x))
    # Keep the identity unless tempering actually helps on these rows.
    helps = _log_loss(temperature, logit, book, went_over) < _log_loss(1.0, logit, book, went_over)
    return temperature if helps else 1.0
