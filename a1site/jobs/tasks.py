from celery import shared_task

from . import selectors, services
from .diagnostics import MAX_HOLD_S, worker_check


@shared_task(name="jobs.worker_check", soft_time_limit=MAX_HOLD_S + 60, time_limit=MAX_HOLD_S + 90)
def worker_check_task(job_id: str) -> None:
    hold_s = float(selectors.job_params(job_id=job_id).get("hold_s", 0))
    services.job_run(job_id=job_id, work=lambda progress: worker_check(progress, hold_s=hold_s))


@shared_task(name="jobs.sweep_stale", soft_time_limit=30, time_limit=60)
def sweep_stale_task() -> int:
    """Celery beat's periodic check for jobs whose worker is gone (see job_sweep_stale)."""
    return len(services.job_sweep_stale())
