"""The annealer's compiled inner loops (numba): sweeps of one- and two-stake moves with
incremental log-growth changes (see portfolios.engine.anneal for the algorithm).

Their own module so that importing the engine does not import numba: numba and llvmlite
cost ~120 MB and ~0.2 s in every process that imports them, and a web server in services
mode never anneals (its workers do); ``anneal()`` imports this module on first use.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def seed_rng(seed):
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
def sweeps(
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
