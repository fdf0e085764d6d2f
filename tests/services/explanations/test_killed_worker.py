"""A detailed explanation job whose worker process is killed mid-way is redelivered, runs
again and finishes once (acks_late + reject_on_worker_lost, a real prefork worker on Redis)."""

import os
import signal
import subprocess
import sys

import pytest

from a1site.jobs.models import Job
from explanations import services
from predictions import services as prediction_services
from predictions.models import Prediction
from tests.predictions.conftest import (  # noqa: F401 - fixtures
    _fresh_inference_service,
    _media,
    mini_league,
    nba_points_training,
    register_models,
    served,
)
from tests.services.conftest import _start
from tests.support import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def prefork_worker(services_env, tmp_path):
    """A real worker with one prefork child, so the child can die while the parent lives."""
    args = [
        sys.executable, "-m", "celery", "-A", "a1site", "worker", "--pool", "prefork", "--concurrency", "1",
        "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"explain-worker-{os.getpid()}@%h",
    ]  # fmt: skip
    worker = _start("celery-prefork", args, services_env, tmp_path)
    wait_until(lambda: "ready" in worker.log() or not worker.alive(), timeout=90, what="celery worker ready")
    assert worker.alive(), worker.log()
    yield worker
    worker.stop()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def test_a_detailed_job_killed_mid_way_is_retried_and_finishes_once(served, user, prefork_worker):  # noqa: F811
    prediction_services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    ids = list(Prediction.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 20
    job = services.explanation_job_start(user=user, prediction_ids=ids, level="detailed")

    def mid_way():
        current = Job.objects.get(pk=job.pk)
        assert not current.is_finished, f"finished before the kill: {current.status} {current.error}"
        return current if current.status == Job.Status.RUNNING and 0 < current.progress < 90 else None

    wait_until(mid_way, timeout=180, interval=0.05, what="the job to be part-way")
    children = _children(prefork_worker.process.pid)
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)

    def finished():
        current = Job.objects.get(pk=job.pk)
        return current if current.is_finished else None

    done = wait_until(finished, timeout=240, interval=0.2, what="the redelivered job to finish")
    log = prefork_worker.log()
    assert done.status == Job.Status.SUCCEEDED, (done.error, log[-3000:])
    assert done.result["explained"] == len(ids) and done.result["errors"] == []
    assert done.progress == 100
    # Killed once, run twice, succeeded once.
    assert "WorkerLostError" in log or "exited with 'signal 9" in log, log[-3000:]
    task = "Task explanations.explain["
    assert log.count(task) >= 2
    assert sum(1 for line in log.splitlines() if task in line and "succeeded in" in line) == 1, log[-3000:]
    # Every explanation it made is in the shared cache, under the production version's keys.
    for pk in ids:
        assert services.explanation_get(prediction_id=pk, user=user, level="detailed")["cached"] is True
