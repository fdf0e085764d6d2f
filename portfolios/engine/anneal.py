"""A quantum-inspired annealer for the full problem with the discrete rules (at most K bets,
a minimum stake, whole-unit increments), after replica-exchange Monte Carlo (parallel
tempering; Swendsen & Wang 1986, Earl & Deem 2005), the classical algorithm behind most
"quantum-inspired" optimizers.

C chains at a ladder of temperatures each walk the feasible stakes; one move changes one or
two stakes, so the wealth vector changes in O(S) and the log-growth change is computed from
products of 16 ratios (one log per 16 scenarios). Moves are random steps, one-dimensional
Newton steps on a coordinate, and swaps (drop one bet, add another) when K bets are on.
Between chunks of sweeps neighbouring chains exchange temperatures (Metropolis), step sizes
adapt to an acceptance of ~30 %, the ladder's top adapts to a swap rate of ~20-50 %, and the
run stops when the best value has risen by less than a relative 1e-7, or by less than
``absolute_tol``, over the last ``patience`` chunks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .problem import Constraints

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class AnnealSettings:
    chains: int = 4
    sweeps_per_chunk: int = 2
    max_chunks: int = 400
    max_seconds: float = 5.0
    # Converged: the best value rose by less than relative_tol (relative) or absolute_tol over
    # `patience` chunks (optimize sets absolute_tol from the growth estimate's sampling noise).
    patience: int = 10
    relative_tol: float = 1e-7
    absolute_tol: float = 0.0
    newton_share: float = 0.5
    pair_share: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class AnnealResult:
    stakes: np.ndarray
    utility: float
    iterations: int  # proposals made, all chains
    chains: int
    seconds: float
    converged: bool
    history: list[float]  # best value after each chunk
    history_seconds: list[float]  # when


def project_discrete(
    stakes: np.ndarray, constraints: Constraints, *, max_bets: int | None, unit: float, min_stake: float
) -> np.ndarray:
    """A feasible discrete point near ``stakes``: the K largest kept, rounded down to the grid,
    those below the minimum stake dropped."""
    out = np.clip(stakes, 0.0, constraints.upper).astype(float)
    if max_bets is not None and np.count_nonzero(out) > max_bets:
        out[np.argsort(-out)[max_bets:]] = 0.0
    if unit > 0:
        out = np.floor(out / unit + 1e-9) * unit
    out[out < min_stake - 1e-12] = 0.0
    # Rounding down keeps every cap; a start that broke a cap is scaled into it.
    if not constraints.feasible(out):
        scale = min(
            constraints.total / max(out.sum(), 1e-300),
            *(constraints.game_caps / np.maximum(constraints.game_sums(out), 1e-300)),
        )
        out = np.floor(out * scale / unit) * unit if unit > 0 else out * scale
        out[out < min_stake - 1e-12] = 0.0
    return out


def _solvent(stakes: np.ndarray, returns: np.ndarray, constraints: Constraints, rules: dict) -> np.ndarray:
    """A start with positive wealth in every scenario. Dropping one leg of a hedged pair (the K
    largest kept, the rest off) can leave the other leg's losses uncovered; halve until solvent."""
    for _ in range(40):
        if np.all(1.0 + returns @ stakes > 0):
            return stakes
        stakes = project_discrete(stakes * 0.5, constraints, **rules)
    return np.zeros_like(stakes)


def anneal(
    returns: np.ndarray,
    constraints: Constraints,
    *,
    max_bets: int | None = None,
    unit: float = 0.0,
    min_stake: float = 0.0,
    starts: list[np.ndarray] | None = None,
    settings: AnnealSettings = AnnealSettings(),
    progress: ProgressFn | None = None,
) -> AnnealResult:
    """Maximize mean log(1 + returns @ f) over the discrete rules by replica exchange."""
    began = time.perf_counter()
    n_scenarios, n = returns.shape
    chains = settings.chains
    returns_t = np.ascontiguousarray(returns.T)
    k = n if max_bets is None else int(max_bets)
    rules = {"max_bets": max_bets, "unit": unit, "min_stake": min_stake}
    starts = [_solvent(project_discrete(s, constraints, **rules), returns, constraints, rules) for s in starts or []]
    starts.append(np.zeros(n))
    stakes = np.array([starts[c % len(starts)] for c in range(chains)], dtype=float)
    wealth = 1.0 + stakes @ returns_t
    inverse = 1.0 / wealth
    log_sum = np.log(wealth).sum(axis=1)
    totals = stakes.sum(axis=1)
    game_of = constraints.game_of.astype(np.int64)
    game_sums = np.array([constraints.game_sums(row) for row in stakes]).reshape(chains, constraints.game_caps.size)
    counts = np.count_nonzero(stakes, axis=1).astype(np.int64)
    best_index = int(np.argmax(log_sum))
    best_stakes = stakes[best_index].copy()
    best_log_sum = np.array([log_sum[best_index]])

    scale = max(abs(best_log_sum[0]) / n_scenarios, 1e-4)
    hottest = 1e-3 * scale
    coldest = 1e-9 * scale
    ladder = np.geomspace(coldest, hottest, chains) if chains > 1 else np.array([coldest])
    temps = ladder.copy()
    steps = np.full(chains, max(float(np.mean(constraints.upper)) * 0.1, unit))
    from . import anneal_kernels as kernels  # numba on first use (its module says why)

    kernels.seed_rng(settings.seed)
    rng = np.random.default_rng(settings.seed)
    history: list[float] = []
    history_seconds: list[float] = []
    stale = 0
    converged = False
    chunks = 0
    proposals = settings.sweeps_per_chunk * n
    for chunks in range(1, settings.max_chunks + 1):
        accepted = kernels.sweeps(
            returns_t,
            stakes,
            wealth,
            inverse,
            log_sum,
            totals,
            game_sums,
            counts,
            temps,
            steps,
            constraints.upper,
            game_of,
            constraints.game_caps,
            constraints.total,
            k,
            unit,
            min_stake,
            settings.newton_share,
            settings.pair_share,
            proposals,
            best_stakes,
            best_log_sum,
        )
        rate = accepted / proposals
        steps = np.where(rate > 0.3, steps * 1.2, steps * 0.8)
        steps = np.maximum(steps, max(unit, 1e-9))
        # Replica exchange: neighbours in temperature swap with the Metropolis rule.
        order = np.argsort(temps)
        swaps = 0
        for a, b in zip(order[:-1], order[1:], strict=True):
            energy_gap = (log_sum[b] - log_sum[a]) / n_scenarios
            if rng.random() < math.exp(min(0.0, -energy_gap * (1 / temps[a] - 1 / temps[b]))):
                temps[a], temps[b] = temps[b], temps[a]
                steps[a], steps[b] = steps[b], steps[a]
                swaps += 1
        if chains > 1:
            swap_rate = swaps / (chains - 1)
            hottest *= 1.1 if swap_rate > 0.5 else (0.9 if swap_rate < 0.2 else 1.0)
            new_ladder = np.geomspace(coldest, max(hottest, coldest * 10), chains)
            temps = new_ladder[np.argsort(np.argsort(temps))]
        history.append(float(best_log_sum[0] / n_scenarios))
        history_seconds.append(time.perf_counter() - began)
        if len(history) > settings.patience:
            window_gain = history[-1] - history[-1 - settings.patience]
            tolerance = max(settings.relative_tol * abs(history[-1]), settings.absolute_tol)
            stale = settings.patience if window_gain <= tolerance else 0
        if progress is not None:
            progress(chunks / settings.max_chunks, f"annealing: best growth {history[-1]:.6f}")
        if stale >= settings.patience:
            converged = True
            break
        # Stop before a chunk that would overrun the time budget.
        chunk_seconds = history_seconds[-1] - (history_seconds[-2] if len(history_seconds) > 1 else 0.0)
        if history_seconds[-1] + chunk_seconds > settings.max_seconds:
            break
    return AnnealResult(
        stakes=best_stakes,
        utility=float(best_log_sum[0] / n_scenarios),
        iterations=chunks * proposals * chains,
        chains=chains,
        seconds=time.perf_counter() - began,
        converged=converged,
        history=history,
        history_seconds=history_seconds,
    )
