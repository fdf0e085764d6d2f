"""Use cases of the portfolios app, one module per subject; every public name is importable
as ``portfolios.services.<name>``."""

from .backtest import backtest_job_execute, backtest_walk_forward, portfolio_backtest
from .bets import allocation_accept, bet_record, bet_settle, bets_settle_from_results, pnl_summary
from .building import LIMIT_FIELDS, market_key, portfolio_create, slate_opportunities
from .runs import (
    RUN_SETTINGS,
    event_correlation,
    optimization_run_execute,
    portfolio_correlation,
    portfolio_optimize,
    portfolios_rebalance_on_ticks,
)

__all__ = [
    "LIMIT_FIELDS",
    "RUN_SETTINGS",
    "allocation_accept",
    "backtest_job_execute",
    "backtest_walk_forward",
    "portfolio_backtest",
    "bet_record",
    "bet_settle",
    "bets_settle_from_results",
    "event_correlation",
    "market_key",
    "optimization_run_execute",
    "pnl_summary",
    "portfolio_correlation",
    "portfolio_create",
    "portfolio_optimize",
    "portfolios_rebalance_on_ticks",
    "slate_opportunities",
]
