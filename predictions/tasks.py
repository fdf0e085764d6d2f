"""Celery tasks of the predictions app: thin, JSON arguments only, progress through jobs.

Services queue these by their stable ``name`` (``celery.signature(name)``), so no service
imports this module; ``PredictionsConfig.ready`` imports it to register them.
"""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from . import grading, services
from .engine.sports import SPORTS
from .services import odds_ticks


@shared_task(name="predictions.train_models", soft_time_limit=3300, time_limit=3600)
def train_models_task(job_id: str) -> None:
    services.models_train_job(job_id=job_id)


@shared_task(name="predictions.grade_props", soft_time_limit=600, time_limit=660)
def grade_props_task(game_ids: list[int] | None = None) -> dict:
    """Grade the settled props (of these games, or all); idempotent: graded ones are skipped."""
    return grading.props_grade(game_ids=game_ids)


@shared_task(name="predictions.predict_slates", soft_time_limit=1700, time_limit=1800)
def predict_slates_task(date: str | None = None) -> list[dict]:
    """The nightly run: score every priced prop of the day (UTC) for each sport."""
    day = dt.date.fromisoformat(date) if date else timezone.now().date()
    return [services.slate_predict(sport=sport, date=day) for sport in SPORTS]


@shared_task(name="predictions.apply_odds_ticks", soft_time_limit=300, time_limit=360)
def apply_odds_ticks_task(tick_ids: list[int]) -> dict:
    """Up to 1,000 of an ingest call's odds ticks → prop quotes, predictions, live updates and
    edge alerts (predictions.services.odds_ticks); idempotent: a rerun finds everything stored
    and nothing crossing."""
    return odds_ticks.odds_ticks_apply(tick_ids=tick_ids)
