"""Portfolio optimizer bench: the exact continuous solver (with cvxpy in the same run), the
annealer against it, the discrete rules against exhaustive search and a 20x longer run, and
out-of-sample growth. Engine only (no Django), BLAS pinned to one thread.

    .venv/bin/python bench/portfolio.py [--quick]

Problems: N bets on props of games of five (one player's prop per bet), a latent factor per
game (correlation ~0.2-0.4 within a game, 0 across), decimal odds 1.6-3.0, our probability a
few per cent above the book's; limits: exposure 50 %, 10 % per bet, 25 % per game.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, results_path  # noqa: E402
from portfolios.engine import (  # noqa: E402
    AnnealSettings,
    Limits,
    Opportunity,
    RunSettings,
    anneal,
    compile_constraints,
    nearest_correlation,
    optimize,
    scenario_returns,
    solve_continuous,
    utility,
)

LIMITS = {"max_exposure": 0.5, "max_per_bet": 0.1, "max_per_game": 0.25}


def problem(n: int, seed: int):
    rng = np.random.default_rng(seed)
    opportunities = []
    for i in range(n):
        odds = float(rng.uniform(1.6, 3.0))
        probability = float(min(0.9, rng.uniform(0.97, 1.10) / odds))
        opportunities.append(Opportunity(f"b{i}", odds, probability, event=f"e{i}", game=f"g{i // 5}"))
    games = np.arange(n) // 5
    loading = rng.uniform(0.45, 0.65, n) * rng.choice([-1, 1], n)
    correlation = np.where(games[:, None] == games[None, :], np.outer(loading, loading), 0.0)
    np.fill_diagonal(correlation, 1.0)
    return opportunities, nearest_correlation(correlation)


def returns_for(opportunities, correlation, n_scenarios, seed, method="pseudo"):
    return scenario_returns(opportunities, correlation, n_scenarios=n_scenarios, seed=seed, method=method).returns


def timed(function, repeats):
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def bench_exact(n, n_scenarios, seeds, repeats):
    times, certificates = [], []
    for seed in seeds:
        opportunities, correlation = problem(n, seed)
        returns = returns_for(opportunities, correlation, n_scenarios, seed)
        constraints = compile_constraints(opportunities, Limits(bankroll=1000, **LIMITS))
        solve_continuous(returns, constraints)  # warm-up
        seconds, result = timed(lambda r=returns, c=constraints: solve_continuous(r, c), repeats)
        times.append(seconds)
        certificates.append(result.gap_bound)
    return statistics.median(times), max(certificates)


def bench_cvxpy(n, n_scenarios, seed):
    import cvxpy as cp

    opportunities, correlation = problem(n, seed)
    returns = returns_for(opportunities, correlation, n_scenarios, seed)
    constraints = compile_constraints(opportunities, Limits(bankroll=1000, **LIMITS))
    ours = solve_continuous(returns, constraints)
    stakes = cp.Variable(n)
    rows = np.zeros((constraints.game_caps.size, n))
    rows[constraints.game_of, np.arange(n)] = 1
    began = time.perf_counter()
    problem_ = cp.Problem(
        cp.Maximize(cp.sum(cp.log(1 + returns @ stakes)) / n_scenarios),
        [stakes >= 0, stakes <= constraints.upper, cp.sum(stakes) <= constraints.total, rows @ stakes <= 0.25],
    )
    problem_.solve(solver=cp.CLARABEL)
    seconds = time.perf_counter() - began
    theirs = utility(returns, np.clip(stakes.value, 0, None))
    return seconds, ours.seconds, (ours.utility - theirs) / abs(theirs)


def warm_up():
    """Compile (or load from numba's cache) the annealer's kernels before anything is timed."""
    opportunities, correlation = problem(10, 0)
    returns = returns_for(opportunities, correlation, 500, 0)
    constraints = compile_constraints(opportunities, Limits(bankroll=1000, **LIMITS))
    anneal(returns, constraints, max_bets=3, unit=0.001, min_stake=0.005, settings=AnnealSettings(max_chunks=2))


def bench_anneal(n, n_scenarios, seeds, max_seconds, target_pct):
    """Worst final gap, median run time, runs that stopped on convergence, and the median time
    at which the best value first came within ``target_pct`` of the exact optimum."""
    gaps, times, converged, to_target = [], [], [], []
    for seed in seeds:
        opportunities, correlation = problem(n, seed)
        returns = returns_for(opportunities, correlation, n_scenarios, seed)
        constraints = compile_constraints(opportunities, Limits(bankroll=1000, **LIMITS))
        exact = solve_continuous(returns, constraints)
        # Cold start (no warm start from the exact answer): the annealer on its own.
        result = anneal(returns, constraints, settings=AnnealSettings(max_seconds=max_seconds, seed=seed))
        gaps.append((exact.utility - result.utility) / exact.utility * 100)
        times.append(result.seconds)
        converged.append(result.converged)
        reached = [
            t
            for t, v in zip(result.history_seconds, result.history, strict=True)
            if (exact.utility - v) / exact.utility * 100 <= target_pct
        ]
        to_target.append(reached[0] if reached else float("inf"))
    return max(gaps), statistics.median(times), sum(converged), statistics.median(to_target)


def bench_discrete_n12(seeds, max_seconds):
    """K = 4, minimum stake 5, whole units of a 1,000 bankroll. The reference is the best
    continuous optimum over every subset of at most 4 bets with stakes >= 5 (an upper bound on
    the discrete optimum, so the gap shown is at least the true gap)."""
    gaps, times = [], []
    for seed in seeds:
        opportunities, correlation = problem(12, seed)
        returns = returns_for(opportunities, correlation, 10_000, seed)
        limits = Limits(bankroll=1000, max_bets=4, min_stake=5, increment=1, **LIMITS)
        constraints = compile_constraints(opportunities, limits)
        bound = 0.0
        for size in range(1, 5):
            for subset in itertools.combinations(range(12), size):
                lower = np.zeros(12)
                upper = np.zeros(12)
                lower[list(subset)] = 0.005
                upper[list(subset)] = constraints.upper[list(subset)]
                restricted = constraints.restricted(lower=lower, upper=upper)
                if not restricted.feasible(np.where(upper > 0, lower, 0.0)):
                    continue
                bound = max(bound, solve_continuous(returns, restricted).utility)
        exact = solve_continuous(returns, constraints)
        result = anneal(
            returns,
            constraints,
            max_bets=4,
            unit=0.001,
            min_stake=0.005,
            starts=[exact.stakes],
            settings=AnnealSettings(max_seconds=max_seconds, seed=seed),
        )
        gaps.append((bound - result.utility) / bound * 100)
        times.append(result.seconds)
    return max(gaps), statistics.median(times)


def bench_discrete_n50(seeds, max_seconds):
    """K = 8: a normal run against the same annealer run 20x longer from another seed."""
    gaps = []
    for seed in seeds:
        opportunities, correlation = problem(50, seed)
        returns = returns_for(opportunities, correlation, 10_000, seed)
        constraints = compile_constraints(
            opportunities, Limits(bankroll=1000, max_bets=8, min_stake=5, increment=1, **LIMITS)
        )
        exact = solve_continuous(returns, constraints)
        rules = {"max_bets": 8, "unit": 0.001, "min_stake": 0.005, "starts": [exact.stakes]}
        normal = anneal(returns, constraints, settings=AnnealSettings(max_seconds=max_seconds, seed=seed), **rules)
        reference = anneal(
            returns,
            constraints,
            **rules,
            settings=AnnealSettings(
                max_seconds=20 * max_seconds, max_chunks=20 * 400, patience=20 * 25, seed=seed + 99
            ),
        )
        best = max(reference.utility, normal.utility)
        gaps.append((best - normal.utility) / best * 100)
    return max(gaps)


def bench_oos(seeds, n_scenarios, method):
    losses, over_kelly, over_half = [], [], []
    for seed in seeds:
        opportunities, correlation = problem(50, seed)
        report = optimize(
            opportunities,
            Limits(bankroll=1000, **LIMITS),
            correlation,
            settings=RunSettings(n_scenarios=n_scenarios, oos_scenarios=200_000, scenario_method=method, seed=seed),
        )
        losses.append(report.oos_growth_loss_pct)
        fresh_kelly = report.oos_independent_kelly_growth
        over_kelly.append((report.oos_growth - fresh_kelly) / abs(fresh_kelly) * 100)
        over_half.append(report.improvement_over_half_kelly_pct)
    return losses, over_kelly, over_half


def bench_noise_stop(seeds):
    """What the annealer's noise-based stop (RunSettings.noise_share) gives up, in a full
    optimize() run (N = 50, K = 8, minimum stake 5, whole units): the same problem and seed
    with noise_share = 0 (stop on the relative 1e-7 rule alone) is the baseline. Returns the
    worst in-sample growth lost (%, and in standard errors of the growth estimate) and the
    median share of annealing time saved."""
    lost_pct, lost_se, saved = [], [], []
    for seed in seeds:
        opportunities, correlation = problem(50, seed)
        limits = Limits(bankroll=1000, max_bets=8, min_stake=5, increment=1, **LIMITS)
        runs = {}
        for share in (0.0, RunSettings().noise_share):
            settings = RunSettings(n_scenarios=20_000, oos_scenarios=1, seed=seed, noise_share=share)
            runs[share] = optimize(opportunities, limits, correlation, settings=settings)
        full, stopped = runs[0.0], runs[RunSettings().noise_share]
        lost = full.objective - stopped.objective
        lost_pct.append(lost / abs(full.objective) * 100)
        lost_se.append(lost / max(stopped.growth_se, 1e-300))
        saved.append((full.anneal_seconds - stopped.anneal_seconds) / full.anneal_seconds * 100)
    return max(lost_pct), max(lost_se), statistics.median(saved)


def mean_se(values):
    values = [float(v) for v in values]
    if len(values) < 2:
        return values[0], 0.0
    return statistics.mean(values), statistics.stdev(values) / len(values) ** 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer problems and repeats; cvxpy on a small problem")
    args = parser.parse_args()
    threadpool_limits(1)
    warm_up()
    seeds = [1, 2] if args.quick else [1, 2, 3, 4, 5]
    repeats = 3 if args.quick else 7
    started = time.perf_counter()
    exact_n50, cert50 = bench_exact(50, 10_000, seeds, repeats)
    exact_n200, cert200 = bench_exact(200, 20_000, seeds[:2] if args.quick else seeds[:3], 1 if args.quick else 3)
    cvx_s, ours_s, cvx_agree = bench_cvxpy(50, 1_000 if args.quick else 10_000, 1)
    print(f"exact done in {time.perf_counter() - started:.0f} s", flush=True)
    anneal50_gap, anneal50_s, conv50, reach50 = bench_anneal(50, 10_000, seeds, 1.0, 0.01)
    anneal200_gap, anneal200_s, conv200, reach200 = bench_anneal(
        200, 20_000, seeds[:2] if args.quick else seeds[:3], 5.0, 0.1
    )
    print(f"anneal done in {time.perf_counter() - started:.0f} s", flush=True)
    n12_gap, n12_s = bench_discrete_n12(seeds[:1] if args.quick else seeds[:3], 1.0)
    n50_gap = bench_discrete_n50(seeds[:1] if args.quick else seeds[:3], 1.0 if args.quick else 2.0)
    print(f"discrete done in {time.perf_counter() - started:.0f} s", flush=True)
    stop_lost_pct, stop_lost_se, stop_saved = bench_noise_stop(seeds[:2] if args.quick else seeds)
    print(f"noise stop done in {time.perf_counter() - started:.0f} s", flush=True)
    oos_seeds = seeds[:2] if args.quick else seeds
    oos, over_kelly, over_half = bench_oos(oos_seeds, 20_000, "pseudo")
    # The scenario count and Sobol against pseudo-random draws (full run only).
    oos_10k = oos if args.quick else bench_oos(oos_seeds, 10_000, "pseudo")[0]
    oos_sobol = oos if args.quick else bench_oos(oos_seeds, 16_384, "sobol")[0]
    oos_pseudo_16k = oos if args.quick else bench_oos(oos_seeds, 16_384, "pseudo")[0]

    exact_base = {"name": "cvxpy_clarabel_n50_s", "value": round(cvx_s, 3)}
    metrics = [
        ("exact_n50_s", exact_n50, "s", "lower", 0.1, exact_base),
        ("exact_n200_s", exact_n200, "s", "lower", 1.0, exact_base),
        ("exact_certified_gap_max", max(cert50, cert200), "log growth", "lower", None, None),
        ("cvxpy_over_exact_same_problem_x", cvx_s / ours_s, "x", "higher", None, exact_base),
        ("exact_minus_cvxpy_rel", cvx_agree, "relative", "higher", None, exact_base),
        ("anneal_n50_gap_pct", anneal50_gap, "%", "lower", 0.01, {"name": "exact_n50_s", "value": exact_n50}),
        ("anneal_n50_s", anneal50_s, "s", "lower", 1.0, None),
        ("anneal_n50_to_0.01pct_s", reach50, "s", "lower", None, None),
        ("anneal_n50_converged_runs", conv50, "runs", "higher", None, None),
        ("anneal_n200_gap_pct", anneal200_gap, "%", "lower", 0.1, {"name": "exact_n200_s", "value": exact_n200}),
        ("anneal_n200_s", anneal200_s, "s", "lower", 5.0, None),
        ("anneal_n200_to_0.1pct_s", reach200, "s", "lower", None, None),
        ("anneal_n200_converged_runs", conv200, "runs", "higher", None, None),
        ("discrete_n12_gap_pct", n12_gap, "%", "lower", 0.1, {"name": "exhaustive_subsets_bound", "value": 0}),
        ("discrete_n12_s", n12_s, "s", "lower", None, None),
        ("discrete_n50_gap_pct", n50_gap, "%", "lower", 0.5, {"name": "anneal_20x_longer", "value": 0}),
        ("noise_stop_growth_lost_pct", stop_lost_pct, "%", "lower", None, {"name": "noise_share_0", "value": 0}),
        ("noise_stop_growth_lost_se", stop_lost_se, "std errors", "lower", None, None),
        ("noise_stop_anneal_time_saved_pct", stop_saved, "%", "higher", None, None),
        ("oos_growth_loss_pct", mean_se(oos)[0], "%", "lower", 3.0, None),
        ("oos_growth_loss_se_pct", mean_se(oos)[1], "%", "lower", None, None),
        ("oos_growth_loss_s10k_pct", mean_se(oos_10k)[0], "%", "lower", None, None),
        ("oos_growth_loss_sobol16k_pct", mean_se(oos_sobol)[0], "%", "lower", None, None),
        ("oos_growth_loss_pseudo16k_pct", mean_se(oos_pseudo_16k)[0], "%", "lower", None, None),
        ("oos_improvement_over_kelly_pct", mean_se(over_kelly)[0], "%", "higher", None, None),
        ("improvement_over_half_kelly_pct", mean_se(over_half)[0], "%", "higher", None, None),
    ]
    rows = []
    print(f"\n{'metric':34} {'value':>12} {'target':>8}")
    for name, value, unit, better, target, baseline in metrics:
        entry = {"name": name, "value": float(f"{float(value):.6g}"), "unit": unit, "better": better}
        if target is not None:
            entry["target"] = target
        if baseline:
            entry["baseline"] = baseline
        rows.append(entry)
        met = (
            "" if target is None else ("ok" if (value <= target if better == "lower" else value >= target) else "MISS")
        )
        print(f"{name:34} {value:12.6g} {'' if target is None else target:>8}  {met}")
    output = {
        "bench": "portfolio",
        "machine": machine(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "notes": {
            "problems": f"seeds {seeds}; games of 5 with a latent factor each; limits {LIMITS}",
            "gaps": "worst over the problems; oos figures: mean over problems (se beside)",
            "anneal": "cold start (zeros), 4 chains, continuous rules; discrete runs warm-start from the exact answer",
            "cvxpy": f"Clarabel, N=50, S={1_000 if args.quick else 10_000}",
            "oos": "growth on 200,000 fresh scenarios vs in sample; S=20,000 pseudo-random unless named",
            "not_measured": "rebalance_p95_ms and jobs_100 (services mode) are not in this bench",
        },
        "metrics": rows,
    }
    path = results_path("portfolio", full=not args.quick)
    path.write_text(json.dumps(output, indent=2) + "\n")
    print(f"\nwritten {path.relative_to(ROOT)} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
