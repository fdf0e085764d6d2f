"""The shared job service: every heavy task reports progress the same way.

A task calls ``job_run(job_id=..., work=fn)``; ``fn(progress)`` does the work and calls
``progress(fraction, message)``; the job moves queued → running → succeeded/failed. Each change
is sent (after commit) on the ``job_updated`` signal, which the live app turns into a
``jobs.{id}`` message for the job's owner.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import current_app, current_task, signature
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone
from kombu.exceptions import OperationalError

from a1site.core.metrics import JOBS
from a1site.core.resilience import REDIS_FAILURES, RedisUnavailable, redis_call, require_redis

from .models import Job
from .worker import JOB_MESSAGE_HEADER

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


def job_create(*, kind: str, owner, params: dict | None = None, task: str | None = None) -> Job:
    """A queued job; with ``task`` (a Celery task name), also the message that will run it,
    recorded before it is sent (``delivery``: a worker holding it stamps the job by its id)."""
    with transaction.atomic():
        job = Job(kind=kind, owner=owner, params=params or {})
        if task:
            job.delivery = _new_delivery(task, args=[str(job.id)])
        job.save(force_insert=True)
        JOBS.labels(kind, Job.Status.QUEUED).inc()
        _announce(job)
    return job


def job_create_queued(*, kind: str, owner, task: str, params: dict | None = None) -> Job:
    """Create a job and queue the task named ``task`` (its stable Celery name) with the job's
    id; all or nothing. Queued by name, so services need not import the tasks that call them.

    Queueing needs the broker (Redis in services mode): when it is unreachable this raises
    ``RedisUnavailable`` (503) and no job is left behind. The message is sent after the row is
    committed (a worker must find it), so a send that fails then removes the row again.
    """
    require_redis("queue a job")
    job = job_create(kind=kind, owner=owner, params=params, task=task)
    try:
        # retry=False: kombu's own publish retries would hold the request for seconds.
        redis_call(_send, job.delivery, retry=False)
    except (*REDIS_FAILURES, OperationalError) as exc:
        Job.objects.filter(pk=job.pk).delete()
        raise RedisUnavailable("queue a job") from exc
    return job


def job_queue_on_commit(job: Job, *, task: str, args: list | None = None) -> None:
    """Send the message that runs ``job`` (task ``task`` by its stable name, with ``args``;
    by default the job's id) when the caller's transaction commits, recorded on the job first
    so that a worker holding it can stamp the job (a1site.jobs.worker)."""
    delivery = _new_delivery(task, args=[str(job.id)] if args is None else args)
    Job.objects.filter(pk=job.pk).update(delivery=delivery)
    job.delivery = delivery
    transaction.on_commit(lambda: _send(delivery))


def _send(delivery: dict, *, retry: bool = True) -> None:
    """Publish a job's message as recorded in ``delivery``, under its id and marked as a job's
    (the worker stamps only jobs' messages: a1site.jobs.worker)."""
    signature(delivery["task"]).apply_async(
        args=delivery.get("args"),
        kwargs=delivery.get("kwargs"),
        task_id=delivery["id"],
        headers={JOB_MESSAGE_HEADER: "1"},
        retry=retry,
    )


def _new_delivery(task: str, *, args: list, kwargs: dict | None = None) -> dict:
    return {"task": task, "id": str(uuid.uuid4()), "args": list(args), "kwargs": dict(kwargs or {})}


def _current_delivery() -> dict:
    """The Celery message being worked on, if this runs in a worker (not eagerly)."""
    task = current_task
    if not task or task.request.id is None or task.request.is_eager:
        return {}
    request = task.request
    return {"task": task.name, "id": request.id, "args": list(request.args or []), "kwargs": dict(request.kwargs or {})}


def job_start(*, job_id) -> Job | None:
    """queued → running, claimed by this run. Returns None if the job is not to run here: it
    finished (a redelivered message), or another worker runs it and is alive (its heartbeat is
    fresh). A running job is taken over when its heartbeat went stale or when this is the same
    message again (redelivered: whoever held it is gone)."""
    delivery = _current_delivery()
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.JOB_STALE_AFTER_S)
    running = Q(status=Job.Status.RUNNING)
    claimable = Q(status=Job.Status.QUEUED) | (
        running & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale_before))
    )
    if delivery:
        claimable |= running & Q(delivery__id=delivery["id"])
    with transaction.atomic():
        updated = Job.objects.filter(claimable, pk=job_id).update(
            status=Job.Status.RUNNING,
            started_at=now,
            # Only a worker beats (job_run); a job run in the caller's process (the embedded
            # mode) has no heartbeat and is never swept.
            heartbeat_at=now if delivery else None,
            progress=0,
            error="",
            delivery=delivery,
            attempts=F("attempts") + 1,
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


def _mine(job_id, attempt: int | None) -> Q:
    """This run's job: a run whose job was taken over (requeued after its heartbeat went stale,
    then started elsewhere) must not finish it a second time."""
    return Q(pk=job_id) if attempt is None else Q(pk=job_id, status=Job.Status.RUNNING, attempts=attempt)


def job_succeed(*, job_id, result: Any, attempt: int | None = None) -> Job | None:
    with transaction.atomic():
        updated = Job.objects.filter(_mine(job_id, attempt)).update(
            status=Job.Status.SUCCEEDED, progress=100, result=result, message="done", finished_at=timezone.now()
        )
        if not updated:
            logger.warning("job was taken over by another run; not finishing it here", extra={"job_id": str(job_id)})
            return None
        job = Job.objects.get(pk=job_id)
        JOBS.labels(job.kind, Job.Status.SUCCEEDED).inc()
        _announce(job)
    return job


def job_fail(*, job_id, error: str, attempt: int | None = None) -> Job | None:
    with transaction.atomic():
        updated = Job.objects.filter(_mine(job_id, attempt)).update(
            status=Job.Status.FAILED, error=error, finished_at=timezone.now()
        )
        if not updated:
            logger.warning("job was taken over by another run; not failing it here", extra={"job_id": str(job_id)})
            return None
        job = Job.objects.get(pk=job_id)
        JOBS.labels(job.kind, Job.Status.FAILED).inc()
        _announce(job)
    return job


class _Heartbeat(threading.Thread):
    """Writes ``heartbeat_at`` every JOB_HEARTBEAT_S while a worker runs the job: a beat that
    stops means the worker is gone (a killed main process leaves no other trace)."""

    def __init__(self, job_id, attempt: int):
        super().__init__(name=f"job-heartbeat-{job_id}", daemon=True)
        self.job_id = job_id
        self.attempt = attempt
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_S):
                Job.objects.filter(_mine(self.job_id, self.attempt)).update(heartbeat_at=timezone.now())
        except Exception:
            logger.exception("job heartbeat failed", extra={"job_id": str(self.job_id)})
        finally:
            connection.close()  # this thread's own connection


def job_run(*, job_id, work: Callable[[ProgressFn], Any]) -> Job | None:
    """Run ``work`` as job ``job_id``: start, throttled progress, then success or failure.

    Idempotent: a job that already finished (or that a live worker runs) is not run again.
    In a worker a heartbeat thread keeps ``heartbeat_at`` fresh meanwhile.
    """
    job = job_start(job_id=job_id)
    if job is None:
        logger.info("job already finished or running elsewhere; skipping", extra={"job_id": str(job_id)})
        return None
    attempt = job.attempts
    heartbeat = _Heartbeat(job_id, attempt) if job.delivery else None
    if heartbeat is not None:
        heartbeat.start()
    last_write = 0.0

    def progress(fraction: float, message: str = "") -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write >= PROGRESS_MIN_INTERVAL_S:
            last_write = now
            job_progress(job_id=job_id, fraction=fraction, message=message)

    try:
        try:
            result = work(progress)
        except Exception as exc:
            logger.exception("job failed", extra={"job_id": str(job_id)})
            return job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}", attempt=attempt)
        return job_succeed(job_id=job_id, result=result, attempt=attempt)
    finally:
        if heartbeat is not None:
            heartbeat.stopped.set()


def job_sweep_stale() -> list[Job]:
    """Jobs whose worker is gone, found by a heartbeat gone silent for JOB_STALE_AFTER_S:

    - ``running``: the worker running it stopped beating (``_Heartbeat``);
    - ``queued`` with a heartbeat: a worker received its message, then stopped stamping it
      before it started (``a1site.jobs.worker``);
    - ``queued`` with no heartbeat whose message a worker took from the broker that long ago
      (``taken_and_unannounced``): it died in the instant between taking the message and
      stamping the job. A queued job whose message is still in the queue is only waiting.

    Each is requeued, its message sent again under a new id, while runs are left
    (JOB_MAX_ATTEMPTS; a message lost before it started counts as a run), else failed.
    Either way the owner sees it at once (``job_updated``). Cheap when there is nothing to
    do (one indexed query and, with Redis, one sorted-set range read)."""
    stale_before = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_S)
    swept = []
    silent = Q(status__in=[Job.Status.RUNNING, Job.Status.QUEUED], heartbeat_at__lt=stale_before)
    never_stamped = taken_and_unannounced(before=stale_before)
    if never_stamped:
        silent |= Q(status=Job.Status.QUEUED, heartbeat_at__isnull=True, delivery__id__in=never_stamped)
    with transaction.atomic():
        stale = Job.objects.select_for_update(skip_locked=True).filter(silent)
        for job in stale:
            _requeue_or_fail(job)
            logger.warning("job swept: %s", job.status, extra={"job_id": str(job.id)})
            JOBS.labels(job.kind, job.status).inc()
            _announce(job)
            swept.append(job)
    return swept


def _requeue_or_fail(job: Job) -> None:
    where = "running it" if job.status == Job.Status.RUNNING else "holding it before it started"
    lost = f"its worker stopped answering while {where} (no heartbeat for {settings.JOB_STALE_AFTER_S:g} s)"
    if job.status == Job.Status.QUEUED:
        job.attempts += 1  # the run it was to have
    if job.attempts < settings.JOB_MAX_ATTEMPTS and job.delivery.get("task"):
        old = job.delivery
        job.delivery = _new_delivery(old["task"], args=old.get("args") or [], kwargs=old.get("kwargs"))
        job.status, job.heartbeat_at = Job.Status.QUEUED, None
        job.message = f"requeued: {lost}"[:200]
        job.save(update_fields=["status", "heartbeat_at", "message", "delivery", "attempts"])
        transaction.on_commit(lambda delivery=job.delivery: _resend(delivery), robust=True)
    else:
        job.status, job.finished_at = Job.Status.FAILED, timezone.now()
        job.error = f"Failed after {job.attempts} run(s): {lost}."
        job.save(update_fields=["status", "finished_at", "error", "attempts"])


def taken_and_unannounced(*, before) -> list[str]:
    """Ids of the messages that workers took from the broker before ``before`` and have not
    acked: kombu's Redis transport keeps each in its ``unacked`` hash, indexed by the time it
    was taken, until the ack (it is how the visibility timeout finds them). A live worker
    stamps the job of such a message within milliseconds (``a1site.jobs.worker``), so one taken
    JOB_STALE_AFTER_S ago whose job is unstamped was taken by a worker that is gone.
    Empty without a Redis broker, or when Redis cannot be read (the next sweep tries again)."""
    if not settings.REDIS_URL:
        return []
    try:
        with current_app.pool.acquire(block=True, timeout=2) as connection:
            channel = connection.default_channel
            if getattr(channel, "unacked_key", None) is None:
                return []  # not the Redis transport
            tags = redis_call(channel.client.zrangebyscore, channel.unacked_index_key, "-inf", before.timestamp())
            payloads = redis_call(channel.client.hmget, channel.unacked_key, tags) if tags else []
    except (*REDIS_FAILURES, OperationalError) as exc:
        logger.warning("jobs: could not read the broker's unacked messages (%r)", exc)
        return []
    ids = []
    for payload in payloads:
        try:
            message = json.loads(payload)[0]
            ids.append(str(message["headers"]["id"]))
        except (TypeError, ValueError, KeyError, IndexError):
            continue  # gone since (acked), or not a Celery message
    return ids


_last_sweep = 0.0
JOB_SWEEP_EVERY_S = 5.0


def job_sweep_stale_now_and_then() -> None:
    """``job_sweep_stale`` at most every JOB_SWEEP_EVERY_S in this process (job reads call it)."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep >= JOB_SWEEP_EVERY_S:
        _last_sweep = now
        job_sweep_stale()


def _resend(delivery: dict) -> None:
    # If the broker is unreachable now, the job stays queued and the original message comes
    # back by itself after the broker's visibility timeout (settings.CELERY_BROKER_TRANSPORT_OPTIONS).
    _send(delivery, retry=False)


# The worker self-check task (a1site.jobs.tasks), queued by its stable name.
WORKER_CHECK_TASK = "jobs.worker_check"


def worker_check_start(*, user, params: dict | None = None) -> Job:
    """Queue a job that checks a worker reaches every dependency (``hold_s``: keep it running
    that long first, to test a worker lost mid-job)."""
    job = job_create_queued(kind="worker_check", owner=user, task=WORKER_CHECK_TASK, params=params)
    job.refresh_from_db()
    return job
