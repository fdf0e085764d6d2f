"""The exact continuous optimum: maximize U(f) = mean_s log(1 + r_s . f) over the limits'
polytope (box, per-game sums, total), without the discrete rules.

An active-set Newton method with the analytic gradient and Hessian: on the current working
set (bets held at a bound, sums held at their cap) it takes Newton steps of the equality
constrained problem, adds a constraint that blocks a step and releases one whose multiplier
has the wrong sign (Nocedal & Wright, ch. 16.5). U is concave, so the Frank-Wolfe gap
max_{s in P} g . (s - f) bounds U* - U(f) from above; the solver stops on that certificate.
The linear maximisation over a box with nested (laminar) sum caps is solved exactly by a
greedy fill in order of gradient (a polymatroid).

With the Busseti-Ryu-Boyd risk constraint (log E[W^-lambda] <= 0) it uses SciPy's SLSQP with
analytic gradients instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .problem import Constraints


@dataclass(frozen=True)
class ContinuousResult:
    stakes: np.ndarray  # fractions of the bankroll
    utility: float  # mean log wealth over the scenarios (of the returns given)
    gap_bound: float  # certified: U* - utility <= gap_bound
    iterations: int
    seconds: float
    method: str


def utility(returns: np.ndarray, stakes: np.ndarray) -> float:
    wealth = 1.0 + returns @ stakes
    if np.any(wealth <= 0):
        return -np.inf
    return float(np.mean(np.log(wealth)))


def linear_max(gradient: np.ndarray, constraints: Constraints) -> np.ndarray:
    """argmax_{s in P} gradient . s by the greedy fill (exact for a box with laminar caps)."""
    point = constraints.lower.astype(float).copy()
    game_left = constraints.game_caps - constraints.game_sums(point)
    total_left = constraints.total - point.sum()
    for i in np.argsort(-gradient):
        if gradient[i] <= 0 or total_left <= 0:
            break
        room = min(constraints.upper[i] - point[i], total_left)
        game = constraints.game_of[i]
        if game >= 0:
            room = min(room, game_left[game])
        if room <= 0:
            continue
        point[i] += room
        total_left -= room
        if game >= 0:
            game_left[game] -= room
    return point


def frank_wolfe_gap(gradient: np.ndarray, stakes: np.ndarray, constraints: Constraints) -> float:
    return max(0.0, float(gradient @ (linear_max(gradient, constraints) - stakes)))


def _rows(constraints: Constraints, n: int) -> np.ndarray:
    """The sum constraints as rows: one per game, then the total."""
    games = constraints.game_caps.size
    rows = np.zeros((games + 1, n))
    grouped = constraints.game_of >= 0
    rows[constraints.game_of[grouped], np.flatnonzero(grouped)] = 1.0
    rows[games] = 1.0
    return rows


def solve_continuous(
    returns: np.ndarray,
    constraints: Constraints,
    *,
    tol: float = 1e-10,
    max_iter: int = 200,
    start: np.ndarray | None = None,
) -> ContinuousResult:
    """The exact optimum of mean log(1 + returns @ f) over ``constraints``."""
    began = time.perf_counter()
    n_scenarios, n = returns.shape
    lower, upper = constraints.lower, constraints.upper
    if np.any(lower > upper + 1e-15) or lower.sum() > constraints.total + 1e-12:
        raise ValueError("constraints: the lower bounds do not fit the caps")
    rows = _rows(constraints, n)
    caps = np.append(constraints.game_caps, constraints.total)
    stakes = lower.copy() if start is None else np.clip(start, lower, upper)
    if np.any(rows @ stakes > caps + 1e-12):
        stakes = lower.copy()

    if start is None:
        # SLSQP finds the active constraints in a few iterations; the Newton steps below then
        # polish to the certificate (adding blocking constraints one at a time from zero took
        # ~130 iterations at N = 200).
        stakes = _slsqp(returns, constraints, rows, caps, stakes, tol=1e-12).x
        stakes = np.clip(stakes, lower, upper)
        over = rows @ stakes - caps
        if np.any(over > 0):
            stakes = lower + (stakes - lower) * max(0.0, 1.0 - (over.max() + 1e-15) / max(stakes.sum(), 1e-15))
    at_lower = stakes <= lower + 1e-9
    at_upper = (stakes >= upper - 1e-9) & ~at_lower
    stakes = np.where(at_lower, lower, np.where(at_upper, upper, stakes))
    active_rows = rows @ stakes >= caps - 1e-9
    iterations = 0
    gap = np.inf
    value = utility(returns, stakes)
    while iterations < max_iter:
        iterations += 1
        wealth = 1.0 + returns @ stakes
        inverse = 1.0 / wealth
        gradient = returns.T @ inverse / n_scenarios
        gap = frank_wolfe_gap(gradient, stakes, constraints)
        if gap <= tol:
            break
        free = np.flatnonzero(~(at_lower | at_upper))
        equality = rows[np.ix_(active_rows, free)]
        keep = equality.any(axis=1)
        equality = equality[keep]
        active_index = np.flatnonzero(active_rows)[keep]
        if free.size:
            weighted = returns[:, free] * inverse[:, None]
            hessian = weighted.T @ weighted / n_scenarios  # minus the Hessian of U
            hessian[np.diag_indices_from(hessian)] += 1e-12
            m = equality.shape[0]
            kkt = np.zeros((free.size + m, free.size + m))
            kkt[: free.size, : free.size] = hessian
            kkt[: free.size, free.size :] = equality.T
            kkt[free.size :, : free.size] = equality
            rhs = np.concatenate([gradient[free], np.zeros(m)])
            try:
                solution = np.linalg.solve(kkt, rhs)
            except np.linalg.LinAlgError:
                solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
            direction = np.zeros(n)
            direction[free] = solution[: free.size]
            multipliers = np.zeros(rows.shape[0])
            multipliers[active_index] = solution[free.size :]
        else:
            direction = np.zeros(n)
            multipliers = np.zeros(rows.shape[0])
        decrement = float(direction @ gradient)
        # The Newton decrement is quadratic in the gradient's imbalance, the certificate linear.
        if decrement <= 1e-20:
            # Stationary on this working set: release what holds the point back.
            reduced = gradient - rows.T @ np.where(active_rows, multipliers, 0.0)
            release_lower = at_lower & (reduced > 1e-14)
            release_upper = at_upper & (reduced < -1e-14)
            release_rows = active_rows & (multipliers < -1e-14)
            if not (release_lower.any() or release_upper.any() or release_rows.any()):
                break  # KKT at rounding level; the certificate reports what remains
            at_lower &= ~release_lower
            at_upper &= ~release_upper
            active_rows &= ~release_rows
            continue
        # The longest step that keeps every inactive constraint.
        step_max = 1.0
        blocking = None
        moving_down = direction < -1e-15
        moving_up = direction > 1e-15
        with np.errstate(divide="ignore", invalid="ignore"):
            down = np.where(moving_down, (lower - stakes) / direction, np.inf)
            up = np.where(moving_up, (upper - stakes) / direction, np.inf)
        if down.size and down.min() < step_max:
            step_max, blocking = float(down.min()), ("lower", int(down.argmin()))
        if up.size and up.min() < step_max:
            step_max, blocking = float(up.min()), ("upper", int(up.argmin()))
        rise = rows @ direction
        slack = caps - rows @ stakes
        with np.errstate(divide="ignore", invalid="ignore"):
            row_steps = np.where((rise > 1e-15) & ~active_rows, slack / rise, np.inf)
        if row_steps.size and row_steps.min() < step_max:
            step_max, blocking = float(row_steps.min()), ("row", int(row_steps.argmin()))
        step_max = max(step_max, 0.0)
        step = step_max
        while True:
            candidate = stakes + step * direction
            candidate_value = utility(returns, candidate)
            if candidate_value >= value + 1e-4 * step * decrement or step < 1e-12:
                break
            step *= 0.5
        if step < 1e-12 and blocking is None:
            break
        stakes = np.clip(candidate, lower, upper)
        value = utility(returns, stakes)
        if blocking is not None and step == step_max:
            kind, index = blocking
            if kind == "lower":
                stakes[index] = lower[index]
                at_lower[index] = True
            elif kind == "upper":
                stakes[index] = upper[index]
                at_upper[index] = True
            else:
                active_rows[index] = True
            value = utility(returns, stakes)
    return ContinuousResult(
        stakes=stakes,
        utility=value,
        gap_bound=float(gap),
        iterations=iterations,
        seconds=time.perf_counter() - began,
        method="slsqp + active-set newton",
    )


def _slsqp(returns, constraints, rows, caps, start, *, tol, extra=()):
    # On first use, not at import: scipy.optimize costs ~40 MB and ~0.9 s in every server
    # process, and a web process in services mode never solves (its workers do).
    from scipy.optimize import minimize

    n_scenarios, n = returns.shape

    def negative_utility(f):
        wealth = 1.0 + returns @ f
        if np.any(wealth <= 0):
            return 1e6, np.zeros(n)
        return -float(np.mean(np.log(wealth))), -(returns.T @ (1.0 / wealth)) / n_scenarios

    return minimize(
        negative_utility,
        np.clip(start, constraints.lower, constraints.upper),
        jac=True,
        method="SLSQP",
        bounds=list(zip(constraints.lower, constraints.upper, strict=True)),
        constraints=[{"type": "ineq", "fun": lambda f: caps - rows @ f, "jac": lambda f: -rows}, *extra],
        options={"ftol": tol, "maxiter": 500},
    )


def solve_risk_constrained(
    returns: np.ndarray,
    constraints: Constraints,
    *,
    risk_lambda: float,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
) -> ContinuousResult:
    """max U(f) s.t. log mean(W^-lambda) <= 0 and the limits (Busseti, Ryu & Boyd 2016, eq. 9),
    by SLSQP with analytic gradients. f = 0 is always feasible."""
    began = time.perf_counter()
    rows = _rows(constraints, returns.shape[1])
    caps = np.append(constraints.game_caps, constraints.total)

    def risk_slack(f):
        log_wealth = np.log(np.maximum(1.0 + returns @ f, 1e-300))
        exponent = -risk_lambda * log_wealth
        top = exponent.max()
        return -(top + np.log(np.mean(np.exp(exponent - top))))

    def risk_slack_gradient(f):
        wealth = np.maximum(1.0 + returns @ f, 1e-300)
        exponent = -risk_lambda * np.log(wealth)
        weights = np.exp(exponent - exponent.max())
        weights /= weights.sum()
        return risk_lambda * (returns.T @ (weights / wealth))

    result = _slsqp(
        returns,
        constraints,
        rows,
        caps,
        constraints.lower if start is None else start,
        tol=tol,
        extra=[{"type": "ineq", "fun": risk_slack, "jac": risk_slack_gradient}],
    )
    stakes = np.clip(result.x, constraints.lower, constraints.upper)
    if risk_slack(stakes) < 0:
        # Pull back along the ray to the origin until the risk constraint holds.
        low, high = 0.0, 1.0
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (middle, high) if risk_slack(stakes * middle) >= 0 else (low, middle)
        stakes = stakes * low
    return ContinuousResult(
        stakes=stakes,
        utility=utility(returns, stakes),
        gap_bound=float("nan"),
        iterations=int(result.nit),
        seconds=time.perf_counter() - began,
        method="slsqp (risk constrained)",
    )


def risk_slack_value(returns: np.ndarray, stakes: np.ndarray, risk_lambda: float) -> float:
    """-log mean(W^-lambda): >= 0 when the risk constraint holds."""
    log_wealth = np.log(np.maximum(1.0 + returns @ stakes, 1e-300))
    exponent = -risk_lambda * log_wealth
    top = exponent.max()
    return float(-(top + np.log(np.mean(np.exp(exponent - top)))))
