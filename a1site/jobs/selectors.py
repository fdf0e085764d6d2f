from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from a1site.core.db import as_aware

from .models import Job


def job_list_for_user(*, user) -> QuerySet[Job]:
    """The user's jobs. Their owner is ``user``: not joined (a job poll read the whole user
    row with each job)."""
    return Job.objects.filter(owner=user)


@dataclass(frozen=True)
class JobSummary:
    """What a list of jobs shows of one (a plain value: it keys a cache)."""

    kind: str
    status: str
    progress: int
    created_at: dt.datetime

    @property
    def status_label(self) -> str:
        return Job.Status(self.status).label if self.status in Job.Status.values else self.status


def recent_jobs_for_user(*, user, limit: int = 10) -> list[JobSummary]:
    """The user's latest jobs, newest first, in one hand-written SELECT: the ORM takes longer to
    build it than the database to answer, and every view of the Dashboard reads it."""
    sql = (
        f'SELECT "kind", "status", "progress", "created_at" FROM "{Job._meta.db_table}" '  # noqa: S608 - the model's own table
        'WHERE "owner_id" = %s ORDER BY "created_at" DESC LIMIT %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, limit])
        rows = cursor.fetchall()
    return [JobSummary(kind, status, progress, as_aware(created_at)) for kind, status, progress, created_at in rows]


def job_params(*, job_id) -> dict:
    return Job.objects.filter(pk=job_id).values_list("params", flat=True).first() or {}


def job_get(*, job_id) -> Job:
    """One job with its owner (for the task that runs it)."""
    return Job.objects.select_related("owner").get(pk=job_id)
