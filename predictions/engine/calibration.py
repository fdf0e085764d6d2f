"""Calibration of P(over) at book lines: a line temperature that pools the model's price with
the book's, fitted on validation props.

Why: a model's predictive distribution can be calibrated on its own and still be
over-confident at a book's line, because the book's line and prices are themselves an
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

Where no book priced the line (B is NaN: a line of one's own, no odds given) the price is
the model's own: at lines chosen without a book the models' own distributions are calibrated
(ECE 0.6-1.9 % on the demo's test rows at lines spread from half to 1.6 times the median),
and a pull toward 1/2 there is not (10-17 %; docs/predictions.md).

An earlier form used B = 1/2 at every line, the book's prices unused. At a line priced away
from even odds (an alternate line, a low count) that showed large false edges.
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


def book_logits(anchor, shape) -> tuple[np.ndarray, np.ndarray]:
    """(logit B, whether a book priced the row) for each row's ``anchor`` (the book's de-vigged
    P(over | no push); None, or NaN in a row, where no book priced the line), broadcast to
    ``shape``; the logit is 0 where there is no book."""
    anchor = np.broadcast_to(np.asarray(np.nan if anchor is None else anchor, float), shape)
    has_book = ~np.isnan(anchor)
    logit = _logit(np.clip(np.where(has_book, anchor, 0.5), _ANCHOR_CLIP, 1.0 - _ANCHOR_CLIP))
    return logit, has_book


def temper(p_over, p_under, p_push, temperature, anchor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p_over, p_under, p_push) with P(over | no push) pooled with the book's ``anchor`` by
    ``temperature`` (module docstring); rows without a book (``anchor`` None or NaN) and columns
    whose temperature is 1 are left as priced. ``temperature`` is one number or one per column
    (serving prices every member of a batch in one call), ``anchor`` one per row (a column
    vector for two-dimensional prices)."""
    p_over = np.asarray(p_over, float)
    p_under = np.asarray(p_under, float)
    p_push = np.asarray(p_push, float)
    temperature = np.asarray(temperature, float)
    if np.all(temperature == 1.0):
        return p_over, p_under, p_push
    settled = np.maximum(p_over + p_under, _EPSILON)
    conditional = np.clip(p_over / settled, _EPSILON, 1.0 - _EPSILON)
    book, has_book = book_logits(anchor, conditional.shape)
    if not has_book.any():
        return p_over, p_under, p_push
    tempered = 1.0 / (1.0 + np.exp(-(book + temperature * (_logit(conditional) - book))))
    no_push = 1.0 - p_push
    keep = (temperature == 1.0) | ~has_book
    return (
        np.where(keep, p_over, no_push * tempered),
        np.where(keep, p_under, no_push * (1.0 - tempered)),
        p_push,
    )


def _log_loss(temperature: float, logit: np.ndarray, book: np.ndarray, went_over: np.ndarray) -> float:
    margin = book + temperature * (logit - book)
    # -log sigmoid(m) for an over, -log sigmoid(-m) for an under, without overflow.
    return float(np.mean(np.logaddexp(0.0, np.where(went_over, -margin, margin))))


def fit_line_temperature(p_over, p_under, actual, line, anchor, *, min_props: int = MIN_CALIBRATION_PROPS) -> float:
    """The temperature minimising the log loss of the pooled P(over | no push) on settled
    props with a book price (pushes, which refund the bet, are left out as in engine.metrics;
    so are rows without a book, ``anchor`` None or NaN); 1.0 below ``min_props``."""
    # scipy.optimize is imported where used: importing it costs ~0.9 s in a fresh
    # process (measured), which commands and pages that never fit a temperature skip.
    from scipy.optimize import minimize_scalar

    actual = np.asarray(actual, float)
    line = np.asarray(line, float)
    book, has_book = book_logits(anchor, actual.shape)
    used = (actual != line) & has_book
    if used.sum() < min_props:
        return 1.0
    p_over = np.asarray(p_over, float)[used]
    p_under = np.asarray(p_under, float)[used]
    conditional = np.clip(p_over / np.maximum(p_over + p_under, _EPSILON), 1e-9, 1.0 - 1e-9)
    logit = _logit(conditional)
    book = book[used]
    went_over = actual[used] > line[used]
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
