from django.db.models import QuerySet

from .models import Job


def job_list_for_user(*, user) -> QuerySet[Job]:
    return Job.objects.filter(owner=user).select_related("owner")
