"""Celery tasks of the portfolios app: thin, ids only, idempotent (a finished run is skipped)."""

from celery import shared_task

from . import services


@shared_task(
    name="portfolios.optimize", soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True
)
def optimize_portfolio_task(run_id: int) -> None:
    services.optimization_run_execute(run_id=run_id)


@shared_task(name="portfolios.rebalance_on_ticks", soft_time_limit=120, time_limit=150)
def rebalance_on_ticks_task(tick_ids: list[int]) -> dict:
    """Reprice auto-rebalance portfolios from stored odds ticks; queues one run per portfolio."""
    return services.portfolios_rebalance_on_ticks(tick_ids=tick_ids)


@shared_task(name="portfolios.settle_bets", soft_time_limit=120, time_limit=150)
def settle_bets_task() -> dict:
    """Settle open slate bets from the stored results (idempotent: settled bets are skipped)."""
    return services.bets_settle_from_results()


@shared_task(name="portfolios.backtest", soft_time_limit=1700, time_limit=1800)
def backtest_portfolio_task(job_id: str) -> None:
    """A walk-forward backtest and its stress run, as job ``job_id`` (a finished job is skipped)."""
    services.backtest_job_execute(job_id=job_id)
