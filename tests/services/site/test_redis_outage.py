"""Redis gone (services mode): the API keeps answering what does not need it, refuses what
does with a 503 in the error shape, and stops paying Redis' timeout once it knows.

Each test runs its own redis-server (tests/services/conftest.py ``own_redis``), never the
shared one, and points a real uvicorn process at it.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest
from django.test import Client

from a1site.jobs.models import Job
from live.models import OddsTick
from tests.support import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TICK = {
    "ts": "2026-11-26T23:00:07Z",
    "sport": "nba",
    "game": "g1",
    "player": "Sim NBA Player 01",
    "stat": "points",
    "book": "dk",
    "line": 27.5,
    "over_odds": 1.91,
    "under_odds": 1.91,
}


def call(method: str, url: str, token: str | None = None, body=None) -> tuple[int, dict, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


def metric(server_url: str, name: str, labels: str = "") -> float:
    _, _, text = call("GET", f"{server_url}/metrics")
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" ([0-9.e+-]+)"
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def outage_server(asgi_server, own_redis):
    return asgi_server(
        {
            "REDIS_URL": own_redis.url,
            "THROTTLE_USER": "30/min",
            "REDIS_BREAKER_RESET_S": "1",
            "LIVE_NAMESPACE": "outage-test",
        }
    )


def test_with_redis_down_the_api_answers_reads_refuses_writes_that_need_it_and_recovers(
    outage_server, own_redis, staff_user, staff_token
):
    server = outage_server
    status, _, body = call("GET", f"{server.url}/api/jobs/", staff_token)
    assert status == 200, body

    own_redis.stop()
    started = time.monotonic()
    status, headers, body = call("GET", f"{server.url}/api/jobs/", staff_token)
    first_answer_s = time.monotonic() - started
    assert status == 200, body  # before: a 500 (HTML) from the throttle's cache read
    assert first_answer_s < 3, first_answer_s

    # Pages (sessions live in the database) render; their cached parts are computed instead.
    session = Client()
    session.force_login(staff_user)
    page = urllib.request.Request(
        f"{server.url}/", headers={"Cookie": f"sessionid={session.cookies['sessionid'].value}"}
    )
    with urllib.request.urlopen(page, timeout=30) as response:
        assert response.status == 200 and b"<html" in response.read().lower()

    # What needs Redis: 503 in the error shape with Retry-After, and nothing written.
    jobs_before, ticks_before = Job.objects.count(), OddsTick.objects.count()
    status, headers, body = call("POST", f"{server.url}/api/worker-checks/", staff_token, {})
    assert status == 503, body
    assert json.loads(body)["error"]["code"] == "unavailable"
    assert int(headers["retry-after"]) >= 1
    status, headers, body = call("POST", f"{server.url}/api/odds/", staff_token, [TICK])
    assert status == 503, body
    assert json.loads(body)["error"]["code"] == "unavailable" and "retry-after" in headers
    assert (Job.objects.count(), OddsTick.objects.count()) == (jobs_before, ticks_before)

    # The throttle still limits (in this process) instead of failing or letting all through.
    statuses = [call("GET", f"{server.url}/api/jobs/", staff_token)[0] for _ in range(40)]
    assert set(statuses) == {200, 429}, statuses
    assert metric(server.url, "a1_redis_degraded_total", 'operation="throttle_local"') > 0
    assert metric(server.url, "a1_redis_breaker_open") == 1
    assert metric(server.url, "a1_redis_degraded_total", 'operation="refused_503"') >= 2

    own_redis.start()
    back = time.monotonic()

    def queued():
        status, _, body = call("POST", f"{server.url}/api/worker-checks/", staff_token, {})
        return status == 202 and json.loads(body)

    job = wait_until(queued, timeout=15, interval=0.2, what="queueing to work again after Redis returned")
    recovery_s = time.monotonic() - back
    assert Job.objects.filter(pk=job["id"], status=Job.Status.QUEUED).exists()
    print(f"\nredis down: first answer {first_answer_s:.3f} s; queueing back {recovery_s:.2f} s after Redis")


def test_a_hung_redis_costs_its_timeout_once_then_requests_stop_waiting_for_it(outage_server, own_redis, staff_token):
    server = outage_server
    assert call("GET", f"{server.url}/api/jobs/", staff_token)[0] == 200
    own_redis.pause()  # accepts connections, answers nothing: every call waits for its timeout
    try:
        timings = []
        for _ in range(8):
            started = time.monotonic()
            status, _, body = call("GET", f"{server.url}/api/jobs/", staff_token)
            timings.append(time.monotonic() - started)
            assert status == 200, body
    finally:
        own_redis.resume()
    # The first request finds out (the cache's 2 s socket timeout, for each of the breaker's
    # REDIS_BREAKER_FAIL_MAX failures at most); after that the breaker answers at once.
    assert timings[0] >= 1.5, timings
    later = sorted(timings[2:])
    assert later[len(later) // 2] < 0.5, timings
    print(f"\nhung redis: request times {[round(t, 3) for t in timings]}")
