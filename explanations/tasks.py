"""Celery tasks of explanations: thin, ids only, stable names, time limits, idempotent
(a finished job is skipped; explanations already in the cache are not recomputed)."""

import datetime as dt
import logging

from celery import shared_task

from . import services
from .services.jobs import EXPLAIN_JOB, INSIGHT_JOB, SLATE_JOB

logger = logging.getLogger(__name__)


@shared_task(name=EXPLAIN_JOB, soft_time_limit=1700, time_limit=1800)
def explain_task(job_id: str) -> None:
    services.explanation_job_run(job_id=job_id)


@shared_task(name=INSIGHT_JOB, soft_time_limit=600, time_limit=660)
def insight_task(job_id: str) -> None:
    services.insight_job_run(job_id=job_id)


@shared_task(name=SLATE_JOB, soft_time_limit=600, time_limit=660)
def slate_precompute_task(job_id: str | None, params: dict | None = None) -> dict | None:
    """With a job: its params and progress. Without (an activation nobody is named for): the
    params given, a plain task."""
    if job_id is not None:
        services.slate_precompute_job_run(job_id=job_id)
        return None
    try:
        return services.slate_precompute(
            date=dt.date.fromisoformat(params["date"]), version_id=params.get("version_id")
        )
    except Exception:
        logger.exception("slate precompute failed", extra={"params": params})
        return None
