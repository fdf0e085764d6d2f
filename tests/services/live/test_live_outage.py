"""Live streams when Redis goes away, comes back empty, or is shared with someone else.

Outage tests run their own redis-server (tests/services/conftest.py ``own_redis``); the
shared Redis is never stopped.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from django.conf import settings
from rest_framework.authtoken.models import Token

from live import publish
from live.backends import RedisBroker, get_broker, reset_broker
from tests.services.live.test_live_servers import open_stream

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

NAMESPACE = "outage-test"


@pytest.fixture(autouse=True)
def redis_broker():
    reset_broker()  # this process' broker must use this test's REDIS_URL and database name
    yield
    reset_broker()


@pytest.fixture
def token(make_user):
    return Token.objects.create(user=make_user("alice")).key


async def next_of(stream, predicate, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = await stream.receive(max(0.01, deadline - time.monotonic()))
        if predicate(message):
            return message


async def test_redis_down_answers_every_subscribe_at_once_keeps_heartbeats_and_resubscribes_when_back(
    asgi_server, own_redis, token
):
    server = asgi_server({"REDIS_URL": own_redis.url, "LIVE_NAMESPACE": NAMESPACE})
    client = await open_stream(server, token)
    await client.ws.send(json.dumps({"type": "subscribe", "topics": ["games.before"]}))
    before = (await client.receive_type("subscribed"))["topics"]["games.before"]

    own_redis.stop()
    await asyncio.sleep(0.5)  # the server's pub/sub connection sees the close at once
    topics = ["games.a", "games.b", "odds.nba"]
    started = time.monotonic()
    await client.ws.send(json.dumps({"type": "subscribe", "topics": topics, "id": 7}))
    refused = set()
    while refused != set(topics):
        error = await next_of(client, lambda m: m.get("code") == "unavailable")
        refused.add(error["topic"])
    all_refused_s = time.monotonic() - started
    assert all_refused_s < 1.5, all_refused_s  # before: 10 s per topic, one after another
    await client.ws.send(json.dumps({"type": "ping", "id": 8}))
    assert (await next_of(client, lambda m: m["type"] == "pong", timeout=2))["id"] == 8

    own_redis.start()  # back, and empty: every counter and history is gone
    back = time.monotonic()
    resubscribed = await next_of(client, lambda m: m["type"] == "subscribed", timeout=15)
    resubscribed_s = time.monotonic() - back
    assert set(resubscribed["topics"]) == set(topics)

    # The topic followed through the outage: one resync, at the seq the next message follows.
    resync = await next_of(client, lambda m: m.get("topic") == "games.before", timeout=15)
    assert resync["type"] == "resync" and resync["seq"] > before, resync
    broker = RedisBroker(url=own_redis.url, history_size=100, ttl_s=60, namespace=NAMESPACE)
    seq = await asyncio.to_thread(
        broker.publish, stream="games.before", topic="games.before", type="game.score", ts="t", data={"n": 1}
    )
    message = await next_of(client, lambda m: m.get("topic") == "games.before")
    assert message["type"] == "game.score" and message["seq"] == seq == resync["seq"] + 1, message
    await client.ws.close()
    print(f"\nredis down: 3 subscribes refused in {all_refused_s:.3f} s; resubscribed {resubscribed_s:.2f} s after")


async def test_a_foreign_or_malformed_message_on_a_shared_redis_never_moves_a_topics_seq(asgi_server, token):
    server = asgi_server()  # the default namespace: this database's name and Redis DB number
    topic = "games.shared"
    client = await open_stream(server, token)
    await client.ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
    start = (await client.receive_type("subscribed"))["topics"][topic]

    def inject():
        # Another deployment on the same Redis server (any DB number: pub/sub ignores it), on
        # the channel name every deployment used to share, and a forged and a broken message on
        # this deployment's own channel.
        other = redis.Redis.from_url(settings.REDIS_URL)
        forged = json.dumps({"topic": topic, "seq": start + 1000, "type": "game.score", "ts": "t", "data": {}})
        other.publish(f"a1:live:m:{topic}", forged)
        other.publish(get_broker().channel_for(topic), forged)
        other.publish(get_broker().channel_for(topic), "{not json")
        time.sleep(0.3)
        return [publish(topic, "game.score", {"n": n}) for n in range(3)]

    seqs = await asyncio.to_thread(inject)
    assert seqs == [start + 1, start + 2, start + 3]
    received = []
    while len(received) < 3:
        message = await client.receive(timeout=15)
        assert message["type"] == "game.score" and message.get("seq") != start + 1000, message
        received.append(message["seq"])
    assert received == seqs
    late = await open_stream(server, token)
    await late.ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
    assert (await late.receive_type("subscribed"))["topics"][topic] == seqs[-1]
    await client.ws.close()
    await late.ws.close()


def test_the_default_namespace_separates_redis_databases_and_database_names():
    from live.backends import live_namespace

    names = {
        live_namespace(setting="", redis_url="redis://h:6379/14", database_name="a1"),
        live_namespace(setting="", redis_url="redis://h:6379/15", database_name="a1"),
        live_namespace(setting="", redis_url="redis://h:6379/14", database_name="test_a1"),
    }
    assert len(names) == 3
    assert live_namespace(setting="prod", redis_url="redis://h/1", database_name="x") == "prod"
