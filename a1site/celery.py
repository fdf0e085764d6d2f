"""The Celery app. Configuration comes from Django settings under the ``CELERY_`` namespace."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from a1site.core.logging import current_request_id, request_id_var
from a1site.jobs.worker import ReservedJobsHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "a1site.settings")

app = Celery("a1site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Stamps the jobs whose messages a worker holds but has not started (a1site/jobs/worker.py).
app.steps["consumer"].add(ReservedJobsHeartbeat)


# The request id travels with the task message, so a job's log lines in the worker carry the
# id of the request that queued it (and the task id when there was no request).
@before_task_publish.connect
def _attach_request_id(headers=None, **kwargs):
    if headers is not None and current_request_id() != "-":
        headers.setdefault("a1_request_id", current_request_id())


@task_prerun.connect
def _restore_request_id(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, "a1_request_id", None)
    if request_id is None and task.request.is_eager and current_request_id() != "-":
        request_id = current_request_id()  # run in-process: nothing was published
    request_id = request_id or task_id
    task.request._a1_request_id_token = request_id_var.set(request_id)


@task_postrun.connect
def _clear_request_id(task=None, **kwargs):
    token = getattr(task.request, "_a1_request_id_token", None)
    if token is not None:
        request_id_var.reset(token)
