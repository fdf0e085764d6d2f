"""Celery tasks of the portfolios app: thin, ids only, idempotent (a finished run is skipped)."""

from celery import shared_task


@shared_task(
    name="portfolios.optimize", soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True
)
def optimize_portfolio_task(run_id: int) -> None:
    from . import services

    services.optimization_run_execute(run_id=run_id)
