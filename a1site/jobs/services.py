"""The shared job service: every heavy task reports progress the same way.

A task calls ``job_run(job_id=..., work=fn)``; ``fn(progress)`` does the work and calls
``progress(fraction, message)``; the job moves queued → running → succeeded/failed. Each change
is sent (after commit) on the ``job_updated`` signal, which the live app turns into a
``jobs.{id}`` message for the job's owner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import signature
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from a1site.core.metrics import JOBS

from .models import Job

logger = logging.getLogger(__name__)

job_updated = Signal()  # kwargs: job (a dict: id, kind, owner_id, status, progress, message, result, error)

ProgressFn = Callable[[float, str], None]
# Writing progress more often than this costs queries and messages and tells a person nothing.
PROGRESS_MIN_INTERVAL_S = 0.5


def job_as_dict(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "kind": job.kind,
        "owner_id": job.owner_id,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _announce(job: Job) -> None:
    payload = job_as_dict(job)
    transaction.on_commit(lambda: job_updated.send(sender=Job, job=payload))


def job_create(*, kind: str, owner, params: dict | None = None) -> Job:
    with transaction.atomic():
        job = Job.objects.create(kind=kind, owner=owner, params=params or {})
        JOBS.labels(kind, Job.Status.QUEUED).inc()
        _announce(job)
    return job


def job_start(*, job_id) -> Job | None:
    """queued → running. Returns None if the job already ran (a redelivered message)."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job_id, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
            status=Job.Status.RUNNING, started_at=timezone.now(), progress=0, error=""
        )
        if not updated:
            return None
        job = Job.objects.get(pk=job_id)
        JOBS.labels(job.kind, Job.Status.RUNNING).inc()
        _announce(job)
    return job


def job_progress(*, job_id, fraction: float, message: str = "") -> None:
    percent = max(0, min(100, int(round(fraction * 100))))
    with transaction.atomic():
        Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(progress=percent, message=message[:200])
        job = Job.objects.get(pk=job_id)
        _announce(job)


def job_succeed(*, job_id, result: Any) -> Job:
    with transaction.atomic():
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.SUCCEEDED, progress=100, result=result, message="done", finished_at=timezone.now()
        )
        job = Job.objects.get(pk=job_id)
        JOBS.labels(job.kind, Job.Status.SUCCEEDED).inc()
        _announce(job)
    return job


def job_fail(*, job_id, error: str) -> Job:
    with transaction.atomic():
        Job.objects.filter(pk=job_id).update(status=Job.Status.FAILED, error=error, finished_at=timezone.now())
        job = Job.objects.get(pk=job_id)
        JOBS.labels(job.kind, Job.Status.FAILED).inc()
        _announce(job)
    return job


def job_run(*, job_id, work: Callable[[ProgressFn], Any]) -> Job | None:
    """Run ``work`` as job ``job_id``: start, throttled progress, then success or failure.

    Idempotent: a job that already finished is not run again.
    """
    if job_start(job_id=job_id) is None:
        logger.info("job already finished; skipping", extra={"job_id": str(job_id)})
        return None
    last_write = 0.0

    def progress(fraction: float, message: str = "") -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write >= PROGRESS_MIN_INTERVAL_S:
            last_write = now
            job_progress(job_id=job_id, fraction=fraction, message=message)

    try:
        result = work(progress)
    except Exception as exc:
        logger.exception("job failed", extra={"job_id": str(job_id)})
        return job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
    return job_succeed(job_id=job_id, result=result)


# The worker self-check task (a1site.jobs.tasks), queued by its stable name.
WORKER_CHECK_TASK = "jobs.worker_check"


def worker_check_start(*, user) -> Job:
    """Queue a job that checks a worker reaches every dependency (after commit)."""
    with transaction.atomic():
        job = job_create(kind="worker_check", owner=user)
        transaction.on_commit(lambda: signature(WORKER_CHECK_TASK, args=(str(job.id),)).delay())
    job.refresh_from_db()
    return job
