from django.db.models import QuerySet

from .models import Job


def job_list_for_user(*, user) -> QuerySet[Job]:
    return Job.objects.filter(owner=user).select_related("owner")


def job_params(*, job_id) -> dict:
    return Job.objects.filter(pk=job_id).values_list("params", flat=True).first() or {}


def job_get(*, job_id) -> Job:
    """One job with its owner (for the task that runs it)."""
    return Job.objects.select_related("owner").get(pk=job_id)
