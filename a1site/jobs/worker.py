"""The worker's side of job liveness for messages it holds but has not started yet.

A running job beats from the process that runs it (``services._Heartbeat``). Between a
worker receiving a job's message and the job starting there is no such beat: a worker whose
main process dies there (``kill -9``, OOM, lost host) acks nothing, so the message stays
unacked in Redis until the visibility timeout (an hour) and the job shows ``queued`` all that
time. So the worker's main process stamps ``heartbeat_at`` on the queued jobs whose messages
it holds: once when it receives one (before the pool can start it) and every
JOB_HEARTBEAT_S while it holds them (a busy pool keeps them reserved). A queued job whose
stamp goes stale was received by a worker that is gone; ``services.job_sweep_stale`` sends
its message again.

Runs in the consumer's own thread (the ``task_received`` signal and a timer on the consumer's
event loop, as Celery's worker heartbeat does): Django's connection there is the one Celery's
Django fixup closes safely in forked pool children, which a thread's connection is not.
"""

from __future__ import annotations

import logging

from celery import bootsteps
from celery.signals import task_received
from celery.worker import state
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)

# Set on the messages that run jobs (jobs.services._send): only those have a job to stamp, so
# the consumer runs no query for the other tasks it receives (odds ticks, grading, sweeps).
JOB_MESSAGE_HEADER = "a1_job"


def _is_job_message(request) -> bool:
    return bool(request.request_dict.get(JOB_MESSAGE_HEADER))


def stamp_received(delivery_ids: list[str]) -> int:
    """Mark the queued jobs of these messages as held by a live worker; returns how many."""
    from .models import Job  # the worker imports this module before Django's apps are ready

    if not delivery_ids:
        return 0
    try:
        return Job.objects.filter(status=Job.Status.QUEUED, delivery__id__in=delivery_ids).update(
            heartbeat_at=timezone.now()
        )
    except Exception:  # the consumer must go on consuming whatever the database does
        logger.exception("could not stamp received jobs")
        close_old_connections()
        return 0


@task_received.connect
def _on_task_received(request=None, **kwargs):
    if request is not None and _is_job_message(request):
        stamp_received([request.id])


class ReservedJobsHeartbeat(bootsteps.StartStopStep):
    """A consumer step: every JOB_HEARTBEAT_S, stamp the queued jobs whose messages this
    worker holds (``celery.worker.state.reserved_requests``)."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        self.tref = None

    def start(self, parent):
        self.tref = parent.timer.call_repeatedly(settings.JOB_HEARTBEAT_S, self.beat)

    def stop(self, parent):
        if self.tref is not None:
            parent.timer.cancel(self.tref)
            self.tref = None

    shutdown = stop

    def beat(self) -> None:
        stamp_received([request.id for request in list(state.reserved_requests) if _is_job_message(request)])
