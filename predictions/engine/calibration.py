"""Calibration of P(over) at book lines: a line temperature fitted on validation props.

Why: a model's predictive distribution can be calibrated for a fixed line and still be
over-confident at the book's line, because the book's line is itself an estimate of the
player's median, and often a sharper one than ours. Where our mean sits far from the line,
the truth usually lies between the two, so P(over) at the line should be pulled toward
1/2. The book's line is never a model input (a prediction stays our own estimate, and the
edge compares it with the book); instead one number per model, the temperature T, is fitted
by maximum likelihood on the validation period's settled props:

    P'(over | no push) = sigmoid(T x logit P(over | no push)),

with P(push) unchanged, so over, under and push still sum to one and T = 1 is the identity.
This is Platt scaling without an intercept (Platt 1999; Guo et al. 2017, "On Calibration of
Modern Neural Networks", call the one-parameter form temperature scaling). Leaving out the
intercept keeps P = 1/2 fixed: a model that agrees with the line stays at even odds, and a
season-level bias of the validation year is not carried into the next one.
"""

from __future__ import annotations

import numpy as np

# Fewer settled validation props than this leave the temperature at 1: one number fitted on
# a handful of outcomes would be noise.
MIN_CALIBRATION_PROPS = 100
TEMPERATURE_BOUNDS = (0.02, 3.0)
_EPSILON = 1e-12


def temper(p_over, p_under, p_push, temperature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p_over, p_under, p_push) with P(over | no push) tempered by ``temperature``."""
    p_over = np.asarray(p_over, float)
    p_under = np.asarray(p_under, float)
    p_push = np.asarray(p_push, float)
    if temperature == 1.0:
        return p_over, p_under, p_push
    settled = np.maximum(p_over + p_under, _EPSILON)
    conditional = np.clip(p_over / settled, _EPSILON, 1.0 - _EPSILON)
    logit = np.log(conditional) - np.log1p(-conditional)
    tempered = 1.0 / (1.0 + np.exp(-temperature * logit))
    no_push = 1.0 - p_push
    return no_push * tempered, no_push * (1.0 - tempered), p_push


def _log_loss(temperature: float, logit: np.ndarray, went_over: np.ndarray) -> float:
    margin = temperature * logit
    # -log sigmoid(m) for an over, -log sigmoid(-m) for an under, without overflow.
    return float(np.mean(np.logaddexp(0.0, np.where(went_over, -margin, margin))))


def fit_line_temperature(p_over, p_under, actual, line, *, min_props: int = MIN_CALIBRATION_PROPS) -> float:
    """The temperature minimising the log loss of P(over | no push) on settled props (pushes,
    which refund the bet, are left out as in engine.metrics); 1.0 below ``min_props``."""
    from scipy.optimize import minimize_scalar

    actual = np.asarray(actual, float)
    line = np.asarray(line, float)
    settled = actual != line
    if settled.sum() < min_props:
        return 1.0
    p_over = np.asarray(p_over, float)[settled]
    p_under = np.asarray(p_under, float)[settled]
    conditional = np.clip(p_over / np.maximum(p_over + p_under, _EPSILON), 1e-9, 1.0 - 1e-9)
    logit = np.log(conditional) - np.log1p(-conditional)
    went_over = actual[settled] > line[settled]
    low, high = np.log(TEMPERATURE_BOUNDS[0]), np.log(TEMPERATURE_BOUNDS[1])
    result = minimize_scalar(
        lambda log_t: _log_loss(np.exp(log_t), logit, went_over),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-5},
    )
    temperature = float(np.exp(result.x))
    # Keep the identity unless tempering actually helps on these rows.
    return temperature if _log_loss(temperature, logit, went_over) < _log_loss(1.0, logit, went_over) else 1.0
