"""A worker whose main process is killed mid-job (kill -9: nothing acked, nothing rejected).

Before jobs had a heartbeat the job showed ``running`` until Redis' visibility timeout (an
hour) redelivered its message. Now the job is requeued (or failed, when its runs are used up)
within JOB_STALE_AFTER_S plus one sweep, and it still finishes exactly once, even when the
original message comes back later.
"""

from __future__ import annotations

import json
import time

import pytest

from a1site.jobs.models import Job
from tests.services.site.test_redis_outage import call
from tests.support import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Seconds: a beat every half second, silence for 3 s means the worker is gone; the broker
# redelivers the original message after 12 s (production: the longest task limit + 5 min).
FAST = {"JOB_HEARTBEAT_S": "0.5", "JOB_STALE_AFTER_S": "3", "CELERY_VISIBILITY_TIMEOUT_S": "12"}


def start_held_job(server, token: str, worker, hold_s: float) -> str:
    status, _, body = call("POST", f"{server.url}/api/worker-checks/", token, {"hold_s": hold_s})
    assert status == 202, body
    job_id = json.loads(body)["id"]

    def holding():
        job = Job.objects.get(pk=job_id)
        return job.status == Job.Status.RUNNING and job.message.startswith("holding")

    wait_until(holding, timeout=30, interval=0.1, what=f"the worker to start the job:\n{worker.log()[-2000:]}")
    return job_id


def read_job(server, token: str, job_id: str) -> dict:
    status, _, body = call("GET", f"{server.url}/api/jobs/{job_id}/", token)
    assert status == 200, body
    return json.loads(body)


def wait_not_running(server, token: str, job_id: str, what: str) -> dict:
    def not_running():
        job = read_job(server, token, job_id)
        return job if job["status"] != "running" else None

    return wait_until(not_running, timeout=60, interval=0.5, what=what)


def wait_sent_again_before_start(server, token: str, job_id: str, *, since: float) -> float:
    """Read the job (a read sweeps, as a person's page would) until it shows it was sent again
    because its worker was lost before the job started; seconds since ``since``."""

    def requeued():
        job = read_job(server, token, job_id)
        return job["message"].startswith("requeued") and job

    seen = wait_until(requeued, timeout=30, interval=0.5, what="the job to be sent again")
    assert "while holding it before it started" in seen["message"], seen
    return time.monotonic() - since


def test_a_job_whose_worker_was_killed_is_requeued_and_finishes_exactly_once(
    asgi_server, start_celery_worker, staff_token
):
    server = asgi_server(FAST)
    first = start_celery_worker(FAST, name="first")
    job_id = start_held_job(server, staff_token, first, hold_s=4)
    taken_at = time.monotonic()

    first.kill()  # the worker's main process: no WorkerLostError, no reject, no ack
    killed_at = time.monotonic()
    # Read as a person would: the job's page (the API) shows it requeued, not "running".
    seen = wait_not_running(server, staff_token, job_id, "the job to stop showing 'running' after its worker died")
    requeued_after_s = time.monotonic() - killed_at
    assert seen["status"] == "queued", seen
    assert seen["message"].startswith("requeued: its worker stopped answering"), seen
    assert requeued_after_s < 15, requeued_after_s

    # A new worker starts after the broker's visibility timeout: it gets the requeued message
    # and the original one back. One of them runs the job; the other finds it finished.
    time.sleep(max(0.0, 13 - (time.monotonic() - taken_at)))
    second = start_celery_worker(FAST, name="second")

    def finished_and_both_messages_handled():
        job = Job.objects.get(pk=job_id)
        return job.is_finished and second.log().count("Task jobs.worker_check[") >= 4 and job

    job = wait_until(finished_and_both_messages_handled, timeout=90, interval=0.5, what="the job to finish")
    assert job.status == Job.Status.SUCCEEDED, (job.error, second.log()[-3000:])
    assert job.attempts == 2
    log = second.log()
    assert log.count("Task jobs.worker_check[") == 4, log[-4000:]  # received + succeeded, twice
    assert log.count("already finished or running elsewhere; skipping") == 1, log[-4000:]
    assert job.result["worker"]["pid"] == second.process.pid
    print(f"\nworker killed: job requeued after {requeued_after_s:.1f} s (stale after 3 s, sweep on read)")


def test_a_job_out_of_runs_is_marked_failed_when_its_worker_dies(asgi_server, start_celery_worker, staff_token):
    env = {**FAST, "JOB_MAX_ATTEMPTS": "1"}
    server = asgi_server(env)
    worker = start_celery_worker(env)
    job_id = start_held_job(server, staff_token, worker, hold_s=30)
    worker.kill()
    killed_at = time.monotonic()
    job = wait_not_running(server, staff_token, job_id, "the job to be marked failed")
    assert job["status"] == "failed", job
    assert "its worker stopped answering" in job["error"]
    print(f"\nworker killed, no runs left: job failed after {time.monotonic() - killed_at:.1f} s")


def test_a_job_whose_worker_died_holding_its_message_before_starting_it_is_sent_again(
    asgi_server, start_celery_worker, staff_token
):
    """The gap the running job's heartbeat does not cover: a worker received the message
    (reserved: its pool is busy) and died before the job started. Without the worker's stamp
    the job showed ``queued`` until the broker's visibility timeout (an hour in production,
    300 s here); now it is sent again within JOB_STALE_AFTER_S and runs once."""
    env = {**FAST, "CELERY_VISIBILITY_TIMEOUT_S": "300"}
    server = asgi_server(env)
    # One pool process, two messages held at a time: the second waits in the main process.
    first = start_celery_worker(
        env, name="first", pool=["--pool", "prefork", "--concurrency", "1", "--prefetch-multiplier", "2"]
    )
    busy = start_held_job(server, staff_token, first, hold_s=6)
    status, _, body = call("POST", f"{server.url}/api/worker-checks/", staff_token, {"hold_s": 0})
    assert status == 202, body
    held = json.loads(body)["id"]
    wait_until(
        lambda: Job.objects.get(pk=held).heartbeat_at is not None,
        timeout=15,
        interval=0.1,
        what=f"the worker to receive and stamp the second job:\n{first.log()[-2000:]}",
    )
    assert Job.objects.get(pk=held).status == Job.Status.QUEUED

    first.kill_tree()
    killed_at = time.monotonic()
    second = start_celery_worker(env, name="second")

    requeued_after_s = wait_sent_again_before_start(server, staff_token, held, since=killed_at)

    def both_finished():
        jobs = [Job.objects.get(pk=pk) for pk in (busy, held)]
        return all(job.is_finished for job in jobs) and jobs

    jobs = wait_until(both_finished, timeout=60, interval=0.5, what=f"both jobs to finish:\n{second.log()[-3000:]}")
    for job in jobs:
        assert job.status == Job.Status.SUCCEEDED, (job.error, second.log()[-3000:])
        assert job.attempts == 2  # the lost run and the one that finished it
        assert job.result["worker"]["pid"] == second.process.pid
    assert "already finished or running elsewhere" not in second.log()
    assert requeued_after_s < 15, requeued_after_s
    print(f"\nworker died holding a message: job sent again after {requeued_after_s:.1f} s")


# A worker's instant between taking a message from Redis and stamping its job: this process
# takes one message as a worker's consumer does (kombu, no ack), says which, and dies.
TAKE_AND_DIE = """
import os, signal, sys
from kombu import Connection
with Connection(sys.argv[1]) as connection:
    message = connection.SimpleQueue("celery", no_ack=False).get(timeout=20)
    print(message.headers["id"], flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_job_whose_message_was_taken_by_a_worker_that_died_before_stamping_it_is_sent_again(
    asgi_server, start_celery_worker, staff_token, services_env
):
    import subprocess
    import sys

    env = {**FAST, "CELERY_VISIBILITY_TIMEOUT_S": "300"}
    server = asgi_server(env)
    status, _, body = call("POST", f"{server.url}/api/worker-checks/", staff_token, {"hold_s": 0})
    assert status == 202, body
    job_id = json.loads(body)["id"]
    taker = subprocess.run(
        [sys.executable, "-c", TAKE_AND_DIE, services_env["REDIS_URL"]], capture_output=True, text=True, timeout=60
    )
    assert taker.returncode == -9, taker.stderr
    taken_at = time.monotonic()
    job = Job.objects.get(pk=job_id)
    assert taker.stdout.strip() == job.delivery["id"] and job.heartbeat_at is None

    requeued_after_s = wait_sent_again_before_start(server, staff_token, job_id, since=taken_at)

    worker = start_celery_worker(env)
    job = wait_until(
        lambda: (job := Job.objects.get(pk=job_id)).is_finished and job,
        timeout=60,
        interval=0.5,
        what=f"the job to finish:\n{worker.log()[-3000:]}",
    )
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2, (job.error, worker.log()[-3000:])
    assert requeued_after_s < 15, requeued_after_s
    print(f"\nmessage taken by a worker that died before stamping: sent again after {requeued_after_s:.1f} s")
