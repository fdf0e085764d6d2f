"""Heavy explanation work as jobs (a1site.jobs): progress on ``jobs.{id}`` for the owner.

Each job is idempotent: explanations land in the cache under their full key, so a job
retried after its worker died recomputes only what is missing and finishes once (the job
service skips a job that already finished)."""

from __future__ import annotations

import datetime as dt
import logging
import time

from celery import current_app
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from a1site.core.errors import ApplicationError
from a1site.jobs import services as job_services
from a1site.jobs.selectors import job_get
from a1site.registry import selectors as registry_selectors
from predictions import selectors as prediction_selectors

from ..engine.explainer import check_level
from .explaining import BATCH_LIMIT, _explain_many, _predictions
from .insight import global_insight_compute

logger = logging.getLogger(__name__)

__all__ = [
    "explanation_job_start",
    "explanation_job_run",
    "insight_job_start",
    "insight_job_run",
    "slate_precompute",
    "slate_precompute_job_run",
    "on_model_version_activated",
]

EXPLAIN_JOB = "explanations.explain"
INSIGHT_JOB = "explanations.global_insight"
SLATE_JOB = "explanations.slate_precompute"
# Predictions explained per step of a job: progress every step, one engine call per step.
DETAILED_STEP = 1
SLATE_STEP = 250


def _queue(task_name: str, *args) -> None:
    """Queue a task of explanations.tasks by its stable name, after commit (the tasks call
    these services, so the services name them rather than import them)."""
    current_app.tasks[task_name].delay_on_commit(*args)


def explanation_job_start(*, user, prediction_ids: list[int], level: str = "detailed"):
    """Queue a job that explains predictions at ``level`` into the cache (the detailed levels
    for many predictions are job work: ~50 ms to 1 s each)."""
    check_level(level)
    if not prediction_ids:
        raise ApplicationError("name at least one prediction", fields={"prediction_ids": ["empty"]})
    if len(prediction_ids) > BATCH_LIMIT:
        raise ApplicationError(f"at most {BATCH_LIMIT} predictions per job", code="too_many", status_code=413)
    visible = _predictions(prediction_ids, user=user)
    unknown = [pk for pk in prediction_ids if pk not in visible]
    if unknown:
        raise ApplicationError(
            "No such prediction.", code="not_found", status_code=404, fields={"prediction_ids": [str(unknown[:5])]}
        )
    with transaction.atomic():
        job = job_services.job_create(
            kind=EXPLAIN_JOB, owner=user, params={"prediction_ids": list(prediction_ids), "level": level}
        )
        job_services.job_queue_on_commit(job, task=EXPLAIN_JOB)
    return job


def _explain_work(job):
    ids = [int(pk) for pk in job.params["prediction_ids"]]
    level = job.params.get("level", "detailed")

    def work(progress):
        explained, errors = 0, []
        for start in range(0, len(ids), DETAILED_STEP):
            chunk = ids[start : start + DETAILED_STEP]
            predictions = _predictions(chunk, user=job.owner)
            results, missing = _explain_many(predictions, level=level)
            explained += len(results)
            errors += [{"prediction": pk, "message": message} for pk, message in missing.items()]
            progress((start + len(chunk)) / len(ids), f"explained {start + len(chunk)} of {len(ids)} ({level})")
        return {"level": level, "explained": explained, "errors": errors, "prediction_ids": ids}

    return work


def explanation_job_run(*, job_id: str) -> object | None:
    job = job_get(job_id=job_id)
    return job_services.job_run(job_id=job_id, work=_explain_work(job))


def insight_job_start(*, user, version_id: int):
    if registry_selectors.model_version_get(version_id=version_id, kind="ensemble") is None:
        raise ApplicationError("No such ensemble version.", code="not_found", status_code=404)
    with transaction.atomic():
        job = job_services.job_create(kind=INSIGHT_JOB, owner=user, params={"version_id": version_id})
        job_services.job_queue_on_commit(job, task=INSIGHT_JOB)
    return job


def insight_job_run(*, job_id: str) -> object | None:
    job = job_get(job_id=job_id)

    def work(progress):
        insight = global_insight_compute(
            version_id=job.params["version_id"], user=job.owner, job_id=job.pk, progress=progress
        )
        return {"version_id": insight.model_version_id, "n_rows": insight.n_rows}

    return job_services.job_run(job_id=job_id, work=work)


def _today() -> dt.date:
    return timezone.now().date()


def slate_precompute(*, date: dt.date, version_id: int | None = None, progress=None) -> dict:
    """``fast`` explanations of every shown prediction of the day's book props (of one
    version, or all) into the cache; what was cached already is skipped."""
    started = time.perf_counter()
    ids = prediction_selectors.slate_prediction_ids(date=date, version_id=version_id)
    viewer = get_user_model()(is_staff=False)
    explained = cached = 0
    for start in range(0, len(ids), SLATE_STEP):
        chunk = ids[start : start + SLATE_STEP]
        results, _ = _explain_many(_predictions(chunk, user=viewer), level="fast")
        explained += len(results)
        cached += sum(1 for result in results.values() if result["cached"])
        if progress:
            progress((start + len(chunk)) / len(ids), f"fast explanations: {start + len(chunk)} of {len(ids)}")
    return {
        "date": date.isoformat(),
        "version_id": version_id,
        "predictions": len(ids),
        "explained": explained,
        "already_cached": cached,
        "seconds": round(time.perf_counter() - started, 3),
    }


def slate_precompute_job_run(*, job_id: str) -> object | None:
    job = job_get(job_id=job_id)

    def work(progress):
        return slate_precompute(
            date=dt.date.fromisoformat(job.params["date"]), version_id=job.params.get("version_id"), progress=progress
        )

    return job_services.job_run(job_id=job_id, work=work)


def on_model_version_activated(sender, name: str = "", version_id: int | None = None, **kwargs) -> None:
    """A new production ensemble: precompute the fast explanations of today's shown slate as a
    job (owned by whoever activated it; without one, as a plain task). Every prediction is
    explained by the version that made it, so the day's cache is right whichever version
    made each one; the activated version's own predictions get theirs as they are made."""
    version = registry_selectors.model_version_get(version_id=version_id, kind="ensemble")
    if version is None:
        return
    params = {"date": _today().isoformat(), "activated_version_id": version.pk}
    try:
        if version.activated_by is not None:
            job = job_services.job_create(kind=SLATE_JOB, owner=version.activated_by, params=params)
            job_services.job_queue_on_commit(job, task=SLATE_JOB)
        else:
            _queue(SLATE_JOB, None, params)
    except Exception:
        # An activation must never fail because its explanations could not be queued.
        logger.exception("slate precompute not queued", extra={"version_id": version_id})
