"""One optimization run: scenarios → exact continuous bound → annealer for the discrete
rules → the report (growth, gap, comparisons with independent Kelly, risk, out of sample).

The out-of-sample check needs nothing the allocation does, so a caller in a hurry (a rebalance
that publishes the allocation at once) can leave it out (``out_of_sample_now=False``: the report
says "deferred" and holds no figure) and call ``out_of_sample`` afterwards: the same numbers."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .anneal import AnnealSettings, ProgressFn, anneal, project_discrete
from .devig import kelly_fraction
from .exact import risk_slack_value, solve_continuous, solve_risk_constrained, utility
from .problem import Constraints, Limits, Opportunity, compile_constraints
from .scenarios import ScenarioCache, scenario_returns


@dataclass(frozen=True)
class RunSettings:
    n_scenarios: int = 20_000
    oos_scenarios: int = 50_000
    oos_seed_offset: int = 1_000_003  # the fresh scenarios' seed: seed + this
    scenario_method: str = "pseudo"
    seed: int = 0
    anneal: AnnealSettings = field(default_factory=AnnealSettings)
    # The annealer stops once its best growth rises by less than this share of the growth
    # estimate's standard error (over its patience): a rise that small is sampling noise of
    # the scenarios, not a better portfolio (docs/portfolios.md has the measurements).
    noise_share: float = 0.02


@dataclass(frozen=True)
class RiskFigures:
    expected_log_growth: float | None  # None: ruin in some scenario
    p_loss: float
    var_5: float  # loss (fraction of bankroll) exceeded with 5 % probability
    cvar_5: float  # mean loss in the worst 5 %
    expected_return: float


@dataclass(frozen=True)
class Report:
    stakes: list[float]  # currency
    fractions: list[float]
    expected_log_growth: float  # in sample, at the stakes (full log utility)
    continuous_bound: float  # the fractional-Kelly objective's exact continuous optimum
    objective: float  # the fractional-Kelly objective at the stakes
    gap_pct: float  # (bound - objective) / |bound| x 100
    bound_certificate: float
    risk: RiskFigures
    independent_kelly: RiskFigures
    independent_kelly_stakes: list[float]  # currency, scaled to the limits
    half_kelly: RiskFigures
    improvement_over_kelly_pct: float | None
    improvement_over_half_kelly_pct: float | None
    oos_growth: float | None  # None: ruin in some fresh scenario, or not computed (oos_status)
    oos_independent_kelly_growth: float | None
    oos_growth_loss_pct: float | None
    oos_status: str  # "computed" (oos_scenarios fresh scenarios) or "deferred" (not yet: no figures)
    oos_scenarios: int
    iterations: int
    chains: int
    seconds: float
    exact_seconds: float
    converged: bool
    n_scenarios: int
    method: str
    scenario_draws: str  # "drawn" for this run, or "cached" (the same draws, kept from an earlier run)
    # The objective's standard error over the scenarios at the stakes: differences smaller
    # than this are sampling noise (the annealer stops on noise_share of it).
    growth_se: float = 0.0
    anneal_seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class OutOfSample:
    growth: float | None  # None: ruin in some fresh scenario
    independent_kelly_growth: float | None
    growth_loss_pct: float | None  # in-sample growth lost out of sample, in %
    n_scenarios: int
    seconds: float


def risk_figures(returns: np.ndarray, fractions: np.ndarray) -> RiskFigures:
    change = returns @ fractions
    tail = np.sort(change)[: max(1, int(0.05 * change.size))]
    # Ruin in some scenario (all of a full-exposure allocation lost) has no finite log growth.
    growth = float(np.mean(np.log1p(change))) if np.all(change > -1.0) else None
    return RiskFigures(
        expected_log_growth=growth,
        p_loss=float(np.mean(change < -1e-12)),
        var_5=float(max(0.0, -np.quantile(change, 0.05))),
        cvar_5=float(max(0.0, -tail.mean())),
        expected_return=float(change.mean()),
    )


def scaled_to_limits(fractions: np.ndarray, constraints: Constraints, limits: Limits) -> np.ndarray:
    """Independent stakes scaled down by one factor until every cap holds, then on the grid."""
    capped = np.minimum(fractions, constraints.upper)
    sums = np.append(constraints.game_sums(capped), capped.sum())
    caps = np.append(constraints.game_caps, constraints.total)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = min(1.0, float(np.min(np.where(sums > 0, caps / sums, np.inf))))
    return project_discrete(
        capped * scale, constraints, max_bets=limits.max_bets, unit=limits.unit, min_stake=limits.min_fraction
    )


def independent_kelly(opportunities: list[Opportunity], limits: Limits, constraints: Constraints) -> np.ndarray:
    """Each bet's own (fractional) Kelly stake, scaled together to the limits."""
    single = np.array(
        [kelly_fraction(probability=o.probability, decimal_odds=o.decimal_odds, p_push=o.p_push) for o in opportunities]
    )
    return scaled_to_limits(single * limits.kelly_fraction, constraints, limits)


def out_of_sample(
    opportunities: list[Opportunity],
    limits: Limits,
    correlation: np.ndarray | None,
    fractions: np.ndarray,
    *,
    in_sample_growth: float | None,
    settings: RunSettings = RunSettings(),
    scenario_cache: ScenarioCache | None = None,
) -> OutOfSample:
    """The growth of ``fractions`` (and of independent Kelly) on ``settings.oos_scenarios``
    fresh scenarios (seed + oos_seed_offset, pseudo-random), and the share of the in-sample
    growth it loses."""
    began = time.perf_counter()
    fractions = np.asarray(fractions, dtype=float)
    kelly = independent_kelly(opportunities, limits, compile_constraints(opportunities, limits))
    fresh = scenario_returns(
        opportunities,
        correlation,
        n_scenarios=settings.oos_scenarios,
        seed=settings.seed + settings.oos_seed_offset,
        method="pseudo",
        cache=scenario_cache,
    ).returns
    growth = _finite(utility(fresh, fractions))
    change = _relative(growth, in_sample_growth)
    return OutOfSample(
        growth=growth,
        independent_kelly_growth=_finite(utility(fresh, kelly)),
        growth_loss_pct=None if change is None else -change,
        n_scenarios=settings.oos_scenarios,
        seconds=time.perf_counter() - began,
    )


def _currency(fractions: np.ndarray, limits: Limits) -> list[float]:
    """Stakes in currency, exactly on the increment's grid (or in cents)."""
    step = limits.increment if limits.increment > 0 else 0.01
    units = np.floor(fractions * limits.bankroll / step + 1e-6)
    return [float(round(u * step, 2)) for u in units]


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _relative(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or abs(reference) < 1e-12:
        return None
    return (value - reference) / abs(reference) * 100.0


def growth_standard_error(returns: np.ndarray, fractions: np.ndarray) -> float:
    """The standard error of the in-sample mean log growth at ``fractions`` (S scenarios)."""
    log_wealth = np.log(np.maximum(1.0 + returns @ fractions, 1e-300))
    return float(np.std(log_wealth) / np.sqrt(len(log_wealth)))


def optimize(
    opportunities: list[Opportunity],
    limits: Limits,
    correlation: np.ndarray | None = None,
    *,
    settings: RunSettings = RunSettings(),
    current_stakes: np.ndarray | None = None,
    progress: ProgressFn | None = None,
    scenario_cache: ScenarioCache | None = None,
    out_of_sample_now: bool = True,
) -> Report:
    """The allocation of ``limits.bankroll`` over ``opportunities`` with its report.
    ``scenario_cache``: reuse draws made before (same numbers, see ``ScenarioCache``);
    ``out_of_sample_now=False``: the out-of-sample figures are left for ``out_of_sample``."""
    began = time.perf_counter()
    if not opportunities:
        raise ValueError("opportunities: nothing to allocate")
    n = len(opportunities)
    constraints = compile_constraints(opportunities, limits)
    scenarios = scenario_returns(
        opportunities,
        correlation,
        n_scenarios=settings.n_scenarios,
        seed=settings.seed,
        method=settings.scenario_method,
        cache=scenario_cache,
    )
    # Fractional Kelly c: maximize c E log(1 + R f / c), whose optimum is c times the full
    # Kelly answer when no limit binds.
    scaled = scenarios.returns / limits.kelly_fraction
    if progress:
        progress(0.05, "exact continuous bound")
    if limits.risk_lambda is not None:
        exact = solve_risk_constrained(scaled, constraints, risk_lambda=limits.risk_lambda)
    else:
        exact = solve_continuous(scaled, constraints)
    if exact.utility <= 0 or not np.any(exact.stakes > 1e-9):
        fractions = np.zeros(n)
        annealed = None
    elif limits.discrete:
        starts = [exact.stakes] + ([np.asarray(current_stakes) / limits.bankroll] if current_stakes is not None else [])

        def anneal_progress(fraction: float, message: str) -> None:
            if progress:
                progress(0.1 + 0.8 * fraction, message)

        noise = growth_standard_error(scaled, exact.stakes)
        annealed = anneal(
            scaled,
            constraints,
            max_bets=limits.max_bets,
            unit=limits.unit,
            min_stake=limits.min_fraction,
            starts=starts,
            settings=replace(settings.anneal, absolute_tol=settings.noise_share * noise),
            progress=anneal_progress,
        )
        fractions = annealed.stakes
        if limits.risk_lambda is not None and risk_slack_value(scaled, fractions, limits.risk_lambda) < 0:
            fractions = project_discrete(
                fractions * 0.5,
                constraints,
                max_bets=limits.max_bets,
                unit=limits.unit,
                min_stake=limits.min_fraction,
            )
    else:
        fractions = exact.stakes
        annealed = None
    fractions = np.where(fractions > 1e-12, fractions, 0.0)
    objective = utility(scaled, fractions)
    bound = max(exact.utility, objective)
    if progress:
        progress(0.92, "risk figures and out-of-sample check")
    single = np.array(
        [kelly_fraction(probability=o.probability, decimal_odds=o.decimal_odds, p_push=o.p_push) for o in opportunities]
    )
    kelly = independent_kelly(opportunities, limits, constraints)
    half = scaled_to_limits(single * limits.kelly_fraction * 0.5, constraints, limits)
    risk = risk_figures(scenarios.returns, fractions)
    kelly_risk = risk_figures(scenarios.returns, kelly)
    half_risk = risk_figures(scenarios.returns, half)
    oos = None
    if out_of_sample_now:
        oos = out_of_sample(
            opportunities,
            limits,
            correlation,
            fractions,
            in_sample_growth=risk.expected_log_growth,
            settings=settings,
            scenario_cache=scenario_cache,
        )
    return Report(
        stakes=_currency(fractions, limits),
        fractions=[float(x) for x in fractions],
        expected_log_growth=risk.expected_log_growth,
        continuous_bound=float(bound * limits.kelly_fraction),
        objective=float(objective * limits.kelly_fraction),
        gap_pct=float((bound - objective) / abs(bound) * 100.0) if bound > 0 else 0.0,
        bound_certificate=float(exact.gap_bound),
        risk=risk,
        independent_kelly=kelly_risk,
        independent_kelly_stakes=_currency(kelly, limits),
        half_kelly=half_risk,
        improvement_over_kelly_pct=_relative(risk.expected_log_growth, kelly_risk.expected_log_growth),
        improvement_over_half_kelly_pct=_relative(risk.expected_log_growth, half_risk.expected_log_growth),
        oos_growth=oos.growth if oos else None,
        oos_independent_kelly_growth=oos.independent_kelly_growth if oos else None,
        oos_growth_loss_pct=oos.growth_loss_pct if oos else None,
        oos_status="computed" if oos else "deferred",
        oos_scenarios=oos.n_scenarios if oos else 0,
        iterations=annealed.iterations if annealed else exact.iterations,
        chains=annealed.chains if annealed else 1,
        seconds=time.perf_counter() - began,
        exact_seconds=exact.seconds,
        converged=annealed.converged if annealed else bool(exact.gap_bound <= 1e-8 or limits.risk_lambda),
        n_scenarios=settings.n_scenarios,
        method="anneal" if annealed else exact.method,
        scenario_draws=scenarios.draws,
        growth_se=growth_standard_error(scaled, fractions),
        anneal_seconds=annealed.seconds if annealed else 0.0,
    )
