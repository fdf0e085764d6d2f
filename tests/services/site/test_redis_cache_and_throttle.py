"""The default cache and the API throttles against the real Redis (REDIS_URL)."""

import contextvars

import pytest
import redis
from django.conf import settings
from django.core.cache import cache, caches

from tests.a1site import test_throttling as in_memory

pytestmark = [pytest.mark.services]


def _in_a_fresh_context(function):
    # As a request under the ASGI bridge (a1site/core/wsgi_bridge.py): a copy of the loop's
    # context, run in a worker thread, holds none of that thread's cache objects.
    return contextvars.Context().run(function)


def test_requests_in_fresh_contexts_share_one_redis_connection_pool():
    server = redis.Redis.from_url(settings.REDIS_URL)
    before = server.info("stats")["total_connections_received"]
    objects = [_in_a_fresh_context(lambda: (caches["default"], caches["default"].get("k"))[0]) for _ in range(20)]
    # Django builds a cache object per context; they share one client, so one pool.
    assert len({id(c) for c in objects}) == 20
    assert len({id(c._cache) for c in objects}) == 1
    # Before: a new pool and a new connection for every one of them.
    assert server.info("stats")["total_connections_received"] - before <= 1


@pytest.fixture
def clock():
    return in_memory.five_a_minute()  # the cache it clears is Redis here


def _calls(server, command: str) -> int:
    return server.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0)


def test_the_sliding_counter_runs_in_redis(clock):
    now, throttle_class = clock
    server = redis.Redis.from_url(settings.REDIS_URL)
    before = {command: _calls(server, command) for command in ("evalsha", "mget", "set")}
    answers, waits = in_memory._attempts(throttle_class, 7)
    # One round trip a request: the script, not a read and then a count.
    after = {command: _calls(server, command) for command in before}
    assert {command: after[command] - before[command] for command in before} == {"evalsha": 7, "mget": 0, "set": 0}
    assert answers == [True] * 5 + [False] * 2
    assert waits == [60.0, 60.0]
    # Counted in Redis, under the cache's own key (a refused request is not counted).
    window = int(now[0] // 60)
    assert cache.get(f"throttle_user_7:{window}") == 5
    assert redis.Redis.from_url(settings.REDIS_URL).ttl(cache.make_key(f"throttle_user_7:{window}")) == 120


def test_the_previous_window_is_weighted_in_redis_as_in_memory(clock):
    in_memory.test_sliding_counter_weights_the_previous_window_by_its_overlap(clock)
