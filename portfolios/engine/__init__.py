"""The portfolio maths: de-vig, correlation and scenarios, the exact continuous Kelly optimum,
the replica-exchange annealer for the discrete rules, and the run report. No Django here."""

from .anneal import AnnealResult, AnnealSettings, anneal, project_discrete
from .devig import METHODS, devig, edge, kelly_fraction
from .exact import ContinuousResult, frank_wolfe_gap, solve_continuous, solve_risk_constrained, utility
from .optimize import OutOfSample, Report, RiskFigures, RunSettings, optimize, out_of_sample, risk_figures
from .problem import Constraints, Limits, Opportunity, compile_constraints
from .scenarios import (
    ScenarioCache,
    Scenarios,
    estimate_correlation,
    event_index,
    nearest_correlation,
    scenario_returns,
)

__all__ = [
    "METHODS",
    "AnnealResult",
    "AnnealSettings",
    "Constraints",
    "ContinuousResult",
    "Limits",
    "Opportunity",
    "OutOfSample",
    "Report",
    "RiskFigures",
    "RunSettings",
    "ScenarioCache",
    "Scenarios",
    "anneal",
    "compile_constraints",
    "devig",
    "edge",
    "estimate_correlation",
    "event_index",
    "frank_wolfe_gap",
    "kelly_fraction",
    "nearest_correlation",
    "optimize",
    "out_of_sample",
    "project_discrete",
    "risk_figures",
    "scenario_returns",
    "solve_continuous",
    "solve_risk_constrained",
    "utility",
]
