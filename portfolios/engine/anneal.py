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
run stops when the best value has risen by less than a relative 1e-7 over the last ``patience``
chunks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from .problem import Constraints

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class AnnealSettings:
    chains: int = 4
    sweeps_per_chunk: int = 2
    max_chunks: int = 400
    max_seconds: float = 5.0
    # Converged: the best value rose by less than relative_tol (relative) over `patience` chunks.
    patience: int = 10
    relative_tol: float = 1e-7
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


@njit(cache=True)
def _seed(seed):
    np.random.seed(seed)


@njit(cache=True, fastmath=True)
def _log_change(inverse, column_a, delta_a, column_b, delta_b):
    """sum_s log(1 + (delta_a r_sa + delta_b r_sb) / W_s) from 1/W; -inf if any wealth would be <= 0."""
    total = 0.0
    product = 1.0
    n = inverse.shape[0]
    for s in range(n):
        ratio = 1.0 + (delta_a * column_a[s] + delta_b * column_b[s]) * inverse[s]
        if ratio <= 0.0:
            return -np.inf
        product *= ratio
        if (s & 15) == 15:
            total += math.log(product)
            product = 1.0
    return total + math.log(product)


@njit(cache=True)
def _snap(target, room, unit, min_stake):
    """A stake within [0, room] on the unit grid, 0 or at least min_stake."""
    if target < 0.0:
        target = 0.0
    if target > room:
        target = room
    if unit > 0.0:
        target = math.floor(target / unit + 0.5) * unit
        if target > room + 1e-12:
            target -= unit
        if target < 0.0:
            target = 0.0
    if target > 0.0 and target < min_stake - 1e-12:
        target = min_stake if min_stake <= room + 1e-12 and np.random.random() < 0.5 else 0.0
    return target


@njit(cache=True)
def _newton_amount(inverse, column_a, column_b):
    """The 1-D Newton step along e_a - e_b (or e_a alone when column_b is zeros), from 1/W."""
    gradient = 0.0
    curvature = 0.0
    for s in range(inverse.shape[0]):
        x = (column_a[s] - column_b[s]) * inverse[s]
        gradient += x
        curvature += x * x
    return gradient / curvature if curvature > 0 else 0.0


@njit(cache=True)
def _pick_active(stakes_row, count, avoid):
    if count == 0:
        return -1
    pick = np.random.randint(count)
    for j in range(stakes_row.shape[0]):
        if stakes_row[j] > 0.0:
            if pick == 0:
                return -1 if j == avoid else j
            pick -= 1
    return -1


@njit(cache=True)
def _sweeps(
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
    upper,
    game_of,
    game_caps,
    total_cap,
    max_bets,
    unit,
    min_stake,
    newton_share,
    pair_share,
    n_proposals,
    best_stakes,
    best_log_sum,
):
    chains, n = stakes.shape
    n_scenarios = wealth.shape[1]
    accepted = np.zeros(chains, dtype=np.int64)
    zero_column = np.zeros(n_scenarios)
    for c in range(chains):
        for _ in range(n_proposals):
            i = np.random.randint(n)
            current = stakes[c, i]
            game = game_of[i]
            j = -1
            if counts[c] > 0 and np.random.random() < pair_share:
                # Transfer between two bets: keeps the total, moves along a binding exposure cap.
                j = _pick_active(stakes[c], counts[c], i)
                if j < 0:
                    continue
                if np.random.random() < newton_share:
                    amount = _newton_amount(inverse[c], returns_t[i], returns_t[j])
                else:
                    amount = steps[c] * np.random.standard_normal()
                if unit > 0.0:
                    amount = math.floor(amount / unit + 0.5) * unit
                amount = min(max(amount, -current, stakes[c, j] - upper[j]), stakes[c, j], upper[i] - current)
                if game >= 0 and game_of[j] != game:
                    amount = min(amount, game_caps[game] - game_sums[c, game])
                if game_of[j] >= 0 and game_of[j] != game:
                    amount = max(amount, -(game_caps[game_of[j]] - game_sums[c, game_of[j]]))
                if unit > 0.0:
                    # Toward zero, so the clamps above still hold on the grid.
                    grid = amount / unit
                    amount = (math.floor(grid + 1e-9) if amount > 0 else math.ceil(grid - 1e-9)) * unit
                target = current + amount
                target_j = stakes[c, j] - amount
                if (0.0 < target < min_stake - 1e-12) or (0.0 < target_j < min_stake - 1e-12):
                    continue
                if target < 0.0 or target_j < 0.0 or amount == 0.0:
                    continue
                if current == 0.0 and target > 0.0 and target_j > 0.0 and counts[c] >= max_bets:
                    continue
                delta_j = -amount
            else:
                room = min(upper[i], current + total_cap - totals[c])
                if game >= 0:
                    room = min(room, current + game_caps[game] - game_sums[c, game])
                if np.random.random() < newton_share:
                    target = current + _newton_amount(inverse[c], returns_t[i], zero_column)
                else:
                    target = current + steps[c] * np.random.standard_normal()
                # A bet that is off may come on by dropping another when K bets are on.
                if current == 0.0 and counts[c] >= max_bets:
                    j = _pick_active(stakes[c], counts[c], i)
                    if j < 0:
                        continue
                    freed = stakes[c, j]
                    room = min(upper[i], total_cap - totals[c] + freed)
                    if game >= 0:
                        extra = freed if game_of[j] == game else 0.0
                        room = min(room, game_caps[game] - game_sums[c, game] + extra)
                    if target <= 0.0:
                        target = freed
                target = _snap(target, room, unit, min_stake)
                delta_j = -stakes[c, j] if j >= 0 else 0.0
                if target == current and j < 0:
                    continue
            delta = target - current
            column_j = returns_t[j] if j >= 0 else zero_column
            change = _log_change(inverse[c], returns_t[i], delta, column_j, delta_j)
            if change == -np.inf:
                continue
            if change < 0.0 and np.random.random() >= math.exp(change / n_scenarios / temps[c]):
                continue
            accepted[c] += 1
            # 1/W is kept beside W: a proposal then multiplies, and only an accepted one divides.
            for s in range(n_scenarios):
                wealth[c, s] += delta * returns_t[i, s] + delta_j * column_j[s]
                inverse[c, s] = 1.0 / wealth[c, s]
            if current == 0.0 and target > 0.0:
                counts[c] += 1
            elif current > 0.0 and target == 0.0:
                counts[c] -= 1
            stakes[c, i] = target
            totals[c] += delta
            if game >= 0:
                game_sums[c, game] += delta
            if j >= 0:
                before_j = stakes[c, j]
                stakes[c, j] = before_j + delta_j
                if stakes[c, j] < 1e-15:
                    stakes[c, j] = 0.0
                if before_j > 0.0 and stakes[c, j] == 0.0:
                    counts[c] -= 1
                totals[c] += delta_j
                if game_of[j] >= 0:
                    game_sums[c, game_of[j]] += delta_j
            log_sum[c] += change
            if log_sum[c] > best_log_sum[0]:
                best_log_sum[0] = log_sum[c]
                best_stakes[:] = stakes[c]
    return accepted


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
    _seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    history: list[float] = []
    history_seconds: list[float] = []
    stale = 0
    converged = False
    chunks = 0
    proposals = settings.sweeps_per_chunk * n
    for chunks in range(1, settings.max_chunks + 1):
        accepted = _sweeps(
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
            stale = settings.patience if window_gain <= settings.relative_tol * abs(history[-1]) else 0
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
