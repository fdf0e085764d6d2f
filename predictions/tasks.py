"""Celery tasks of the predictions app: thin, JSON arguments only, progress through jobs."""

from celery import shared_task


@shared_task(name="predictions.train_models", soft_time_limit=3300, time_limit=3600)
def train_models_task(job_id: str) -> None:
    from . import services

    services.models_train_job(job_id=job_id)
