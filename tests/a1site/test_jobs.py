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


def _running_in_a_worker(job, *, beat_seconds_ago: float, attempts: int = 1, task_id: str = "msg-1"):
    """The row a worker leaves when it ran ``job`` and its last heartbeat was that long ago."""
    from datetime import timedelta

    from django.utils import timezone

    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        attempts=attempts,
        heartbeat_at=timezone.now() - timedelta(seconds=beat_seconds_ago),
        delivery={"task": "jobs.worker_check", "id": task_id, "args": [str(job.pk)], "kwargs": {}},
    )


def test_a_job_whose_heartbeat_went_silent_is_requeued_then_failed_when_out_of_runs(user, settings):
    settings.JOB_STALE_AFTER_S, settings.JOB_MAX_ATTEMPTS = 30, 2
    fresh, lost, spent = (services.job_create(kind="test", owner=user) for _ in range(3))
    _running_in_a_worker(fresh, beat_seconds_ago=5)
    _running_in_a_worker(lost, beat_seconds_ago=60)
    _running_in_a_worker(spent, beat_seconds_ago=60, attempts=2)

    swept = {job.pk: job.status for job in services.job_sweep_stale()}

    assert swept == {lost.pk: Job.Status.QUEUED, spent.pk: Job.Status.FAILED}
    assert Job.objects.get(pk=fresh.pk).status == Job.Status.RUNNING
    assert Job.objects.get(pk=lost.pk).message.startswith("requeued: its worker stopped answering")
    assert "Failed after 2 run(s)" in Job.objects.get(pk=spent.pk).error


def test_a_job_run_in_process_has_no_heartbeat_and_is_never_swept(user, settings):
    settings.JOB_STALE_AFTER_S = 0

    def work(progress):
        assert Job.objects.get(pk=job.pk).heartbeat_at is None
        assert services.job_sweep_stale() == []
        return 1

    job = services.job_create(kind="test", owner=user)
    assert services.job_run(job_id=job.pk, work=work).status == Job.Status.SUCCEEDED


def test_a_live_workers_job_is_not_started_again_and_a_taken_over_run_cannot_finish_it(user, settings):
    settings.JOB_STALE_AFTER_S = 30
    job = services.job_create(kind="test", owner=user)
    _running_in_a_worker(job, beat_seconds_ago=1, attempts=1)
    calls = []
    assert services.job_run(job_id=job.pk, work=lambda progress: calls.append(1)) is None
    assert calls == []
    # Run 1 was taken over (its job requeued and started again as run 2): it finishes nothing.
    _running_in_a_worker(job, beat_seconds_ago=1, attempts=2)
    assert services.job_succeed(job_id=job.pk, result={"from": "run 1"}, attempt=1) is None
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING
    assert services.job_succeed(job_id=job.pk, result={"from": "run 2"}, attempt=2).result == {"from": "run 2"}


def test_a_queued_job_records_the_message_it_was_sent_as(user):
    from celery.result import AsyncResult

    job = services.job_create(kind="test", owner=user, task="jobs.worker_check")
    assert job.delivery == {"task": "jobs.worker_check", "id": job.delivery["id"], "args": [str(job.pk)], "kwargs": {}}
    assert AsyncResult(job.delivery["id"]).id == job.delivery["id"]  # a valid Celery task id (a UUID)
    assert Job.objects.get(pk=job.pk).delivery == job.delivery


def test_a_worker_stamps_only_the_queued_jobs_whose_messages_it_holds(user):
    from a1site.jobs.worker import stamp_received

    held, other, started = (services.job_create(kind="test", owner=user, task="jobs.worker_check") for _ in range(3))
    _running_in_a_worker(started, beat_seconds_ago=1, task_id=started.delivery["id"])

    assert stamp_received([held.delivery["id"], started.delivery["id"], "not-a-job"]) == 1

    assert Job.objects.get(pk=held.pk).heartbeat_at is not None
    assert Job.objects.get(pk=other.pk).heartbeat_at is None  # no worker has it: only waiting
    assert services.job_sweep_stale() == []  # just stamped: not stale


def test_a_queued_job_whose_worker_went_silent_before_starting_it_is_sent_again(
    user, settings, django_capture_on_commit_callbacks
):
    """A worker received the message, then died before the job started (kill -9 of its main
    process): the job's stamp goes stale and the sweep sends a new message; a job no worker has
    received is left waiting."""
    from datetime import timedelta

    from django.utils import timezone

    settings.JOB_STALE_AFTER_S, settings.JOB_MAX_ATTEMPTS = 30, 2
    held, waiting, spent = (services.job_create(kind="test", owner=user, task="jobs.worker_check") for _ in range(3))
    old = timezone.now() - timedelta(seconds=60)
    Job.objects.filter(pk__in=[held.pk, spent.pk]).update(heartbeat_at=old)
    Job.objects.filter(pk=spent.pk).update(attempts=1)
    sent = []
    original, services._resend = services._resend, sent.append
    try:
        with django_capture_on_commit_callbacks(execute=True):
            swept = {job.pk: job.status for job in services.job_sweep_stale()}
    finally:
        services._resend = original

    assert swept == {held.pk: Job.Status.QUEUED, spent.pk: Job.Status.FAILED}
    requeued = Job.objects.get(pk=held.pk)
    assert requeued.message.startswith("requeued: its worker stopped answering while holding it before it started")
    assert (requeued.attempts, requeued.heartbeat_at) == (1, None)
    assert requeued.delivery["id"] != held.delivery["id"]  # a new message, recorded before it is sent
    assert sent == [requeued.delivery]
    assert Job.objects.get(pk=waiting.pk).status == Job.Status.QUEUED
    assert "Failed after 2 run(s)" in Job.objects.get(pk=spent.pk).error


def test_a_job_queued_on_commit_records_its_message_and_sends_it_under_that_id(
    user, django_capture_on_commit_callbacks, monkeypatch
):
    sent, headers = [], []

    class Recorder:
        def __init__(self, task):
            self.task = task

        def apply_async(self, *, args, task_id, **options):
            sent.append((self.task, args, task_id))
            headers.append(options.get("headers"))

    monkeypatch.setattr(services, "signature", Recorder)
    job = services.job_create(kind="test", owner=user)
    with django_capture_on_commit_callbacks(execute=True):
        services.job_queue_on_commit(job, task="portfolios.optimize", args=[17])
    recorded = Job.objects.get(pk=job.pk).delivery
    assert recorded == {"task": "portfolios.optimize", "id": recorded["id"], "args": [17], "kwargs": {}}
    assert sent == [("portfolios.optimize", [17], recorded["id"])]
    assert headers == [{"a1_job": "1"}]  # the worker stamps jobs' messages only
