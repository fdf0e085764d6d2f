"""Redis unreachable (a port nothing listens on: a real refused connection): the cache answers
misses, the throttle counts in the process and still limits, the breaker opens and closes, and
an API view that hits Redis anyway answers 503 in the error shape."""

from types import SimpleNamespace

import pybreaker
import pytest
import redis
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from a1site.core import resilience, throttling
from a1site.core.cache import ResilientRedisCache
from a1site.core.throttling import LOCAL_COUNTERS, UserSlidingRateThrottle
from tests.support import free_port


@pytest.fixture
def unreachable_cache():
    resilience.redis_breaker.close()
    LOCAL_COUNTERS.clear()
    throttling._counting_locally = False
    cache = ResilientRedisCache(
        f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
    )
    yield cache
    resilience.redis_breaker.close()  # the breaker is per process: leave it closed for other tests


def test_an_unreachable_cache_reads_as_misses_and_opens_the_breaker(unreachable_cache):
    assert unreachable_cache.get("k", "default") == "default"
    assert unreachable_cache.get_many(["a", "b"]) == {}
    assert unreachable_cache.add("k", 1) is False
    with pytest.raises(ValueError):
        unreachable_cache.incr("k")
    assert resilience.redis_breaker.current_state == pybreaker.STATE_OPEN
    assert resilience.redis_is_down() and unreachable_cache.unavailable()


def test_the_throttle_limits_in_the_process_while_the_cache_is_unreachable(unreachable_cache, caplog):
    class FiveAMinute(UserSlidingRateThrottle):
        rate = "5/min"
        cache = unreachable_cache

    request = SimpleNamespace(user=SimpleNamespace(pk=7, is_authenticated=True))
    answers = [FiveAMinute().allow_request(request, None) for _ in range(8)]
    assert answers == [True] * 5 + [False] * 3
    said = [r.getMessage() for r in caplog.records if r.name == "a1site.core.throttling"]
    assert said == ["throttle: the shared cache is unreachable; counting requests in this process"]


def test_the_breaker_lets_a_trial_call_through_after_its_reset_time(unreachable_cache, monkeypatch):
    unreachable_cache.get("k")
    unreachable_cache.get("k")
    assert resilience.redis_is_down()
    monkeypatch.setattr(resilience.redis_breaker, "_reset_timeout", 0)
    assert not resilience.redis_is_down()  # due for its trial: callers must try Redis again


def test_a_redis_error_in_an_api_view_is_a_503_in_the_error_shape():
    class Broken(APIView):
        permission_classes = []
        throttle_classes = []

        def get(self, request):
            raise redis.ConnectionError("Connection refused")

    response = Broken.as_view()(APIRequestFactory().get("/x"))
    assert response.status_code == 503
    assert response.data["error"]["code"] == "unavailable"
    assert int(response["Retry-After"]) >= 1
