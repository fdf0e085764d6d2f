"""A burst on one topic (issue 17, defect 6): 2,500 game events in one POST, or an odds post
with thousands of distinct lines, reach a client that reads as fast as it can, whole and in
order. (A client that stops reading is still closed 4413: tests/live/test_consumer.py; over
loopback the kernel's socket buffers, up to 4 MiB, hide a stopped reader from a burst this size.)

A real server (a1site.serve: uvicorn, the embedded mode's in-memory broker, SQLite) in its own
process, and real ``websockets`` clients; the burst used to fill the 2,000-message outbox
before its 50 ms flush timer fired.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.support import free_port, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SETUP = """
import django; django.setup()
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_user("feeder", password="x-" * 8, is_staff=True)
print(Token.objects.create(user=user).key)
"""


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """(host:port, staff token) of an embedded-mode server: no DATABASE_URL, no REDIS_URL."""
    var = tmp_path_factory.mktemp("embedded")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"} and not k.startswith("PYTEST")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "a1site.settings",
            "A1_VAR_DIR": str(var),
            "A1_ENV_FILE": str(var / "none.env"),
            "SECRET_KEY": "burst-test-" + "x" * 40,
            "OMP_NUM_THREADS": "1",
            "THROTTLE_USER": "100000/min",
            # A long batch window stands for a busy loop whose flush timer comes late: before,
            # only the timer drained the outbox, so the burst filled it and closed the client.
            "LIVE_BATCH_WINDOW_MS": "1000",
        }
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    setup = subprocess.run(
        [sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=120, capture_output=True, text=True
    )
    token = setup.stdout.strip().splitlines()[-1]
    port = free_port()
    log = (var / "server.log").open("w")
    args = [sys.executable, "-m", "a1site.serve", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def ready():
        if process.poll() is not None:
            raise AssertionError((var / "server.log").read_text())
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    wait_until(ready, timeout=60, what="the embedded server")
    yield f"127.0.0.1:{port}", token
    process.terminate()
    process.wait(timeout=10)


def post(base: str, token: str, path: str, body) -> int:
    request = urllib.request.Request(
        f"http://{base}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return response.status


async def subscribe(base: str, token: str, topic: str):
    ws = await connect(f"ws://{base}/ws/?token={token}", origin=f"http://{base}", max_size=None, open_timeout=10)
    await ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
    while True:
        for message in json.loads(await ws.recv()):
            if message["type"] == "subscribed":
                return ws, message["topics"][topic]


async def read_fast(ws, topic: str, count: int) -> list[int]:
    """Every seq of ``topic`` as fast as frames come, until ``count`` of them or a close."""
    seqs: list[int] = []
    while len(seqs) < count:
        for message in json.loads(await asyncio.wait_for(ws.recv(), 60)):
            if message.get("topic") == topic and "seq" in message:
                seqs.append(message["seq"])
    return seqs


async def burst_reaches_a_fast_reader(base, token, topic, path, body, count):
    fast, start = await subscribe(base, token, topic)
    reader = asyncio.create_task(read_fast(fast, topic, count))
    assert await asyncio.to_thread(post, base, token, path, body) == 201
    seqs = await reader  # before: ConnectionClosedError 4413, with none of the burst read
    assert seqs == list(range(start + 1, start + count + 1))
    await fast.close()


async def test_2500_game_events_in_one_post_reach_a_fast_reader_whole_and_in_order(embedded_server):
    base, token = embedded_server
    events = [
        {
            "ts": f"2026-12-05T20:{n // 60 % 60:02d}:{n % 60:02d}Z",
            "sport": "nba",
            "game": "burst-1",
            "kind": "score",
            "home_team": "BOS",
            "away_team": "LAL",
            "home_score": n,
            "away_score": 0,
            "period": 1,
            "detail": f"basket {n}",
        }
        for n in range(2500)
    ]
    await burst_reaches_a_fast_reader(base, token, "games.burst-1", "/api/games/events/", events, 2500)


async def test_an_odds_post_of_5000_distinct_lines_reaches_a_fast_reader(embedded_server):
    base, token = embedded_server
    ticks = [
        {
            "ts": "2026-12-05T21:00:00Z",
            "sport": "nhl",
            "game": f"odds-{n // 50}",
            "player": f"Sim NHL Player {n}",
            "stat": "shots",
            "book": "dk",
            "line": 2.5,
            "over_odds": 1.91,
            "under_odds": 1.91,
        }
        for n in range(5000)
    ]
    await burst_reaches_a_fast_reader(base, token, "odds.nhl", "/api/odds/", ticks, 5000)
