"""Correlations between events and joint outcomes drawn by a Gaussian copula.

Each event (one prop) has a standard normal latent; a bet's outcome is read from the latent's
uniform value against its marginal probabilities, so the marginals hold exactly in
expectation whatever the correlation. Over wins on a high latent, under on a low one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from .problem import Opportunity

# A pair seen together in n games keeps n / (n + SHRINK_GAMES) of its sample correlation.
# With 20, a pair with 20 shared games keeps half; a sample correlation of 30 games has a
# standard error near 0.18, so it would be mostly noise unshrunk.
SHRINK_GAMES = 20.0
MIN_SHARED_GAMES = 5


def estimate_correlation(
    histories: Sequence[Mapping[str, float]], *, shrink_games: float = SHRINK_GAMES
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations between the stat histories of events (game key → value), over the
    games both have, each shrunk toward zero by n / (n + shrink_games). Returns the PSD
    correlation matrix and the shared-game counts."""
    count = len(histories)
    correlation = np.eye(count)
    shared = np.zeros((count, count), dtype=np.int64)
    keys = [set(h) for h in histories]
    for i in range(count):
        shared[i, i] = len(keys[i])
        for j in range(i + 1, count):
            common = sorted(keys[i] & keys[j])
            n = len(common)
            shared[i, j] = shared[j, i] = n
            if n < MIN_SHARED_GAMES:
                continue
            x = np.array([histories[i][k] for k in common], dtype=float)
            y = np.array([histories[j][k] for k in common], dtype=float)
            if x.std() == 0 or y.std() == 0:
                continue
            r = float(np.corrcoef(x, y)[0, 1])
            correlation[i, j] = correlation[j, i] = r * n / (n + shrink_games)
    return nearest_correlation(correlation), shared


def nearest_correlation(matrix: np.ndarray, *, floor: float = 1e-8) -> np.ndarray:
    """A positive semi-definite correlation matrix near ``matrix``: negative eigenvalues clipped
    to ``floor``, then rescaled to a unit diagonal (one step of Higham's alternating projections;
    enough for the mild violations that pairwise estimates produce)."""
    symmetric = (matrix + matrix.T) / 2.0
    values, vectors = np.linalg.eigh(symmetric)
    if values.min() >= floor:
        return symmetric
    clipped = (vectors * np.clip(values, floor, None)) @ vectors.T
    scale = 1.0 / np.sqrt(np.diag(clipped))
    out = clipped * scale[:, None] * scale[None, :]
    np.fill_diagonal(out, 1.0)
    return (out + out.T) / 2.0


@dataclass(frozen=True)
class Scenarios:
    """Net return per unit staked of each bet (columns) in each scenario (rows): odds - 1 on a
    win, 0 on a push, -1 on a loss."""

    returns: np.ndarray
    seed: int
    method: str


def event_index(opportunities: Sequence[Opportunity]) -> tuple[list[str], np.ndarray]:
    events: dict[str, int] = {}
    index = np.array([events.setdefault(o.event or o.key, len(events)) for o in opportunities], dtype=np.int64)
    return list(events), index


def draw_uniforms(correlation: np.ndarray, *, n_scenarios: int, seed: int, method: str = "pseudo") -> np.ndarray:
    """S x E correlated uniforms: Gaussian copula with ``correlation``, from seeded pseudo-random
    or scrambled Sobol normals."""
    events = correlation.shape[0]
    if method == "sobol":
        # scipy.stats is imported where Sobol draws are asked for: importing it costs ~0.4 s
        # (measured at server start-up), and the default draws are pseudo-random.
        from scipy.stats import qmc

        sampler = qmc.Sobol(d=events, scramble=True, seed=seed)
        # Sobol points come in powers of two; take the first n (balance is best at 2^m).
        uniforms = sampler.random(n_scenarios)
        normals = ndtri(np.clip(uniforms, 1e-12, 1 - 1e-12))
    elif method == "pseudo":
        normals = np.random.default_rng(seed).standard_normal((n_scenarios, events))
    else:
        raise ValueError(f"method: unknown scenario method {method!r} (pseudo or sobol)")
    values, vectors = np.linalg.eigh(correlation)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))  # correlation = root @ root.T
    return ndtr(normals @ root.T)


def scenario_returns(
    opportunities: Sequence[Opportunity],
    correlation: np.ndarray | None = None,
    *,
    n_scenarios: int,
    seed: int,
    method: str = "pseudo",
) -> Scenarios:
    """The S x N return matrix of ``opportunities``; ``correlation`` is between their events
    (in the order of first appearance, see ``event_index``); None = independent events."""
    events, index = event_index(opportunities)
    if correlation is None:
        correlation = np.eye(len(events))
    if correlation.shape != (len(events), len(events)):
        raise ValueError(f"correlation: expected {len(events)}x{len(events)} for the events, got {correlation.shape}")
    uniforms = draw_uniforms(correlation, n_scenarios=n_scenarios, seed=seed, method=method)[:, index]
    p_win = np.array([o.probability for o in opportunities])
    p_push = np.array([o.p_push for o in opportunities])
    over = np.array([o.side == "over" for o in opportunities])
    # Over: win when u > 1 - p_win, push just below; under: win when u <= p_win, push just above.
    position = np.where(over[None, :], 1.0 - uniforms, uniforms)
    win = position < p_win[None, :]
    push = (~win) & (position < (p_win + p_push)[None, :])
    payout = np.array([o.decimal_odds - 1.0 for o in opportunities])
    returns = np.where(win, payout[None, :], np.where(push, 0.0, -1.0))
    return Scenarios(returns=np.ascontiguousarray(returns), seed=seed, method=method)
