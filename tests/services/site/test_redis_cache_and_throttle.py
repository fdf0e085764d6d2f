"""The default cache against the real Redis (REDIS_URL)."""

import contextvars

import pytest
import redis
from django.conf import settings
from django.core.cache import caches

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
    now = [60_000.0]
    from a1site.core.throttling import UserSlidingRateThrottle

    class FiveAMinute(UserSlidingRateThrottle):
        rate = "5/min"

        def timer(self):
            return now[0]

    return now, FiveAMinute
