"""Live streams across real uvicorn processes sharing Redis (services mode)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from types import SimpleNamespace

import pytest
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect

from live import publish
from live.backends import reset_broker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def redis_broker():
    reset_broker()  # the broker of this process must use this test's REDIS_URL
    yield
    reset_broker()


@pytest.fixture
def tokens(make_user):
    alice = make_user("alice")
    staff = make_user("staff", is_staff=True)
    return {
        "alice": Token.objects.create(user=alice).key,
        "staff": Token.objects.create(user=staff).key,
    }


class Stream:
    def __init__(self, ws):
        self.ws = ws
        self.pending: list[dict] = []

    async def receive(self, timeout: float = 10) -> dict:
        while not self.pending:
            self.pending.extend(json.loads(await asyncio.wait_for(self.ws.recv(), timeout)))
        return self.pending.pop(0)

    async def receive_type(self, kind: str, timeout: float = 10) -> dict:
        while True:
            message = await self.receive(timeout)
            if message["type"] == kind:
                return message


async def open_stream(server, token: str) -> Stream:
    ws = await connect(f"{server.ws_url}/ws/?token={token}", origin="http://127.0.0.1", open_timeout=10)
    stream = Stream(ws)
    assert (await stream.receive())["type"] == "welcome"
    return stream


def post_json(url: str, token: str, body) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status


async def test_an_odds_tick_posted_to_one_server_reaches_a_client_of_the_other(asgi_server, tokens):
    first, second = asgi_server(), asgi_server()
    client = await open_stream(first, tokens["alice"])
    await client.ws.send(json.dumps({"type": "subscribe", "topics": ["odds.nba", "odds.game.g1"]}))
    subscribed = await client.receive_type("subscribed")

    tick = {
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
    status = await asyncio.to_thread(post_json, f"{second.url}/api/odds/", tokens["staff"], [tick])
    assert status == 201

    got = {}
    while len(got) < 2:
        message = await client.receive()
        if "seq" in message:
            got[message["topic"]] = message
    assert got["odds.nba"]["seq"] == subscribed["topics"]["odds.nba"] + 1
    assert got["odds.nba"]["data"]["player"] == "Sim NBA Player 01"
    assert got["odds.game.g1"]["type"] == "odds.open"
    await client.ws.close()


async def test_clients_of_a_killed_server_resume_on_another_without_loss(asgi_server, tokens):
    first, second = asgi_server(), asgi_server()
    topic = "games.g42"
    client = await open_stream(first, tokens["alice"])
    await client.ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
    start = (await client.receive_type("subscribed"))["topics"][topic]

    published: list[int] = []
    stop = threading.Event()

    def publisher():
        for n in range(300):
            if stop.is_set():
                return
            published.append(publish(topic, "game.score", {"n": n}))
            time.sleep(0.005)

    thread = threading.Thread(target=publisher)
    thread.start()
    received: list[int] = []
    try:
        while len(received) < 40:
            message = await client.receive()
            if "seq" in message:
                received.append(message["seq"])
        first.kill()  # SIGKILL: no goodbye
        with pytest.raises(Exception):  # noqa: B017 - whatever the socket says when the peer dies
            while True:
                message = await client.receive(timeout=5)
                if "seq" in message:
                    received.append(message["seq"])

        resumed = await open_stream(second, tokens["alice"])
        await resumed.ws.send(json.dumps({"type": "resume", "topics": {topic: received[-1]}}))
        await asyncio.to_thread(thread.join, 30)
        deadline = time.monotonic() + 20
        while (not received or received[-1] < published[-1]) and time.monotonic() < deadline:
            message = await resumed.receive()
            assert message["type"] != "resync", message
            if "seq" in message:
                received.append(message["seq"])
    finally:
        stop.set()
        thread.join(30)
    assert received == list(range(start + 1, published[-1] + 1)) == published


async def test_the_server_keeps_deflate_state_small_and_compressed_frames_still_arrive(asgi_server, tokens):
    server = asgi_server()
    client = await open_stream(server, tokens["alice"])
    extensions = client.ws.response.headers["Sec-WebSocket-Extensions"]
    assert "permessage-deflate" in extensions
    assert "client_no_context_takeover" in extensions  # no decompressor kept between frames
    assert "server_max_window_bits=11" in extensions
    await client.ws.send(json.dumps({"type": "subscribe", "topics": ["games.g7"]}))
    start = (await client.receive_type("subscribed"))["topics"]["games.g7"]
    frames: list[bytes] = []
    reader = client.ws.protocol.reader  # what arrives on the wire, before websockets inflates it
    original_feed = reader.feed_data

    def feed(data):
        frames.append(bytes(data))
        original_feed(data)

    reader.feed_data = feed
    # Short messages leave uncompressed (a1site.ws_fast.DEFLATE_MIN_BYTES), long ones compressed.
    for n, note in enumerate(["x" * 300, "x" * 3000, "x" * 300]):
        await asyncio.to_thread(publish, "games.g7", "game.score", {"n": n, "note": note})
        message = await client.receive_type("game.score")
        assert message["seq"] == start + n + 1 and message["data"]["note"] == note
    rsv1 = [bool(chunk[0] & 0x40) for chunk in frames if chunk and chunk[0] & 0x0F == 0x1]
    assert rsv1 == [False, True, False]
    await client.ws.send(json.dumps({"type": "ping", "id": 1}))  # compressed client frames are read too
    assert (await client.receive_type("pong"))["id"] == 1
    await client.ws.close()


async def test_a_bare_heartbeat_is_answered_by_the_server_protocol_and_still_rate_limited(asgi_server, tokens):
    server = asgi_server({"LIVE_RATE_PER_S": "0.01", "LIVE_RATE_BURST": "3", "LIVE_MAX_STRIKES": "1"})
    client = await open_stream(server, tokens["alice"])
    for _ in range(3):
        await client.ws.send('{"type":"ping"}')
        assert await client.receive() == {"type": "pong"}
    await client.ws.send('{"type":"ping"}')
    error = await client.receive()
    assert error["code"] == "rate_limited"
    await client.ws.send('{"type":"ping"}')
    await client.ws.send('{"type":"ping"}')
    await asyncio.wait_for(client.ws.wait_closed(), 10)
    assert client.ws.close_code == 4429


def test_publish_many_assigns_consecutive_seqs_and_keeps_them_in_the_history():
    from django.conf import settings

    from live.backends import RedisBroker

    broker = RedisBroker(url=settings.REDIS_URL, history_size=100, ttl_s=60)
    topic = f"games.batch{time.monotonic_ns()}"
    messages = [{"stream": topic, "topic": topic, "type": "game.score", "ts": "t", "data": {"n": n}} for n in range(5)]
    seqs = broker.publish_many(messages)
    assert seqs == list(range(seqs[0], seqs[0] + 5))

    async def history():
        listener = broker.listen(SimpleNamespace(deliver=lambda stream, text: None), lambda: None)
        try:
            return await listener.since(topic, seqs[0] - 1)
        finally:
            await listener.close()

    # Bounded: one full-suite run hung here once (not reproduced since); fail fast instead.
    since = asyncio.run(asyncio.wait_for(history(), timeout=30))
    assert [seq for seq, _ in since.entries] == seqs
    assert [json.loads(text)["data"]["n"] for _, text in since.entries] == list(range(5))
