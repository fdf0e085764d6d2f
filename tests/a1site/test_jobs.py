import pytest

from a1site.jobs import services
from a1site.jobs.models import Job

pytestmark = pytest.mark.django_db


def test_job_run_reports_progress_then_result(user):
    job = services.job_create(kind="test", owner=user, params={"n": 3})
    seen = []
    services.job_updated.connect(
        lambda sender, job, **kw: seen.append((job["status"], job["progress"])), weak=False, dispatch_uid="test-seen"
    )
    try:

        def work(progress):
            progress(0.5, "halfway")
            assert Job.objects.get(pk=job.pk).progress == 50
            return {"answer": 42}

        finished = services.job_run(job_id=job.pk, work=work)
    finally:
        services.job_updated.disconnect(dispatch_uid="test-seen")
    assert (finished.status, finished.progress, finished.result) == (Job.Status.SUCCEEDED, 100, {"answer": 42})
    assert finished.started_at and finished.finished_at


def test_job_run_records_failure_with_the_error(user):
    job = services.job_create(kind="test", owner=user)

    def work(progress):
        raise ValueError("no data for 2031")

    failed = services.job_run(job_id=job.pk, work=work)
    assert failed.status == Job.Status.FAILED
    assert failed.error == "ValueError: no data for 2031"


def test_a_finished_job_is_not_run_again(user):
    job = services.job_create(kind="test", owner=user)
    services.job_run(job_id=job.pk, work=lambda progress: 1)
    calls = []
    assert services.job_run(job_id=job.pk, work=lambda progress: calls.append(1)) is None
    assert calls == []


def test_owner_reads_their_job(user_client, user):
    job = services.job_create(kind="test", owner=user)
    response = user_client.get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 200
    assert response.json()["status"] == "queued"


def test_user_cannot_read_another_users_job(other_client, user):
    job = services.job_create(kind="test", owner=user)
    response = other_client.get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert other_client.get("/api/jobs/").json()["count"] == 0


def test_anonymous_client_gets_401(api_client, user):
    job = services.job_create(kind="test", owner=user)
    response = api_client.get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_bad_token_gets_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.get("/api/jobs/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_worker_check_runs_in_process_in_embedded_mode(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/api/worker-checks/")
    assert response.status_code == 202
    body = staff_client.get(f"/api/jobs/{response.json()['id']}/").json()
    assert body["status"] == "succeeded" and body["progress"] == 100
    assert body["result"]["checks"]["database"] == "ok"


def test_only_staff_start_worker_checks(user_client):
    assert user_client.post("/api/worker-checks/").status_code == 403


def test_an_in_process_task_keeps_the_request_id_of_its_caller(user):
    from a1site.core.logging import current_request_id, request_id_var
    from a1site.jobs import tasks

    seen = []
    job = services.job_create(kind="test", owner=user)
    token = request_id_var.set("queue-req-7")
    original = tasks.worker_check
    tasks.worker_check = lambda progress, **options: seen.append(current_request_id())
    try:
        tasks.worker_check_task.delay(str(job.pk))
    finally:
        tasks.worker_check = original
        request_id_var.reset(token)
    assert seen == ["queue-req-7"]
