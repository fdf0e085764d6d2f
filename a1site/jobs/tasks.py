from celery import shared_task

from . import services
from .diagnostics import worker_check


@shared_task(name="jobs.worker_check", soft_time_limit=60, time_limit=90)
def worker_check_task(job_id: str) -> None:
    services.job_run(job_id=job_id, work=worker_check)
