import os

import pytest
from rest_framework.test import APIClient

from a1site.jobs.models import Job
from tests.support import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_real_celery_worker_runs_a_job_and_reports_progress_and_result(celery_worker, staff_user):
    client = APIClient()
    client.force_authenticate(staff_user)

    response = client.post("/api/worker-checks/", HTTP_X_REQUEST_ID="svc-req-42")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]

    def finished():
        job = Job.objects.get(pk=job_id)
        return job if job.is_finished else None

    job = wait_until(finished, timeout=60, interval=0.2, what="the worker to finish the job")
    assert job.status == Job.Status.SUCCEEDED, (job.error, celery_worker.log())
    assert job.progress == 100
    assert job.started_at is not None and job.finished_at >= job.started_at
    # It ran in the worker process, which reached every dependency itself.
    assert job.result["worker"]["pid"] != os.getpid()
    assert job.result["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}

    # The worker's log lines for this job carry the id of the request that queued it.
    assert '"request_id": "svc-req-42"' in celery_worker.log()

    detail = client.get(f"/api/jobs/{job_id}/").json()
    assert detail["status"] == "succeeded" and detail["progress"] == 100


def test_settings_in_services_mode_use_postgres_redis_and_a_real_broker(settings):
    from a1site.celery import app

    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CACHES["default"]["BACKEND"] == "a1site.core.cache.ResilientRedisCache"
    assert app.conf.task_always_eager is False
    assert app.conf.broker_url == settings.REDIS_URL


def test_postgres_connections_run_without_jit():
    """A props page's plan crossed jit_above_cost and PostgreSQL spent ~150 ms compiling it
    for a query of a few milliseconds (GET /api/props/ p50 147 ms on the full NBA demo)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_the_catalogue_statistics_refresh_analyses_the_sport_table_autovacuum_never_does():
    """Four rows never trigger autovacuum's ANALYZE; unanalysed, PostgreSQL guessed 5 of
    1,960 NBA games and sorted every NBA prop for a props page past the first few."""
    from django.db import connection

    from predictions import writes

    def analyses() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'predictions_sport'")
            return cursor.fetchone()[0]

    before = analyses()
    writes.catalogue_statistics_refresh()
    assert analyses() == before + 1
