"""Django's Redis cache, degraded to a miss when Redis is unreachable.

A cache is an optimisation: with Redis gone a read is a miss and a write is skipped, so a page
or an API answer is computed instead of failing (counted as ``a1_redis_degraded_total``
{operation="cache_bypass"}). Every call goes through the Redis circuit breaker
(a1site/core/resilience.py), so once Redis is known down no request waits on a socket timeout.
``incr`` keeps Django's contract (ValueError for a missing key, which is what it is then).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache

from .resilience import REDIS_DEGRADED, REDIS_FAILURES, redis_call, redis_is_down


def _degrading(name: str, fallback):
    method = getattr(RedisCache, name)

    def call(self, *args, **kwargs):
        try:
            return redis_call(method, self, *args, **kwargs)
        except REDIS_FAILURES:
            REDIS_DEGRADED.labels("cache_bypass").inc()
            if isinstance(fallback, type) and issubclass(fallback, Exception):
                raise fallback("the cache is unavailable") from None
            return fallback(*args, **kwargs) if callable(fallback) else fallback

    call.__name__ = name
    return call


def _default(key, default=None, *args, **kwargs):
    return default


class ResilientRedisCache(RedisCache):
    add = _degrading("add", False)
    get = _degrading("get", _default)
    set = _degrading("set", None)
    touch = _degrading("touch", False)
    delete = _degrading("delete", False)
    get_many = _degrading("get_many", lambda *a, **k: {})
    has_key = _degrading("has_key", False)
    incr = _degrading("incr", ValueError)
    set_many = _degrading("set_many", lambda data, *a, **k: list(data))
    delete_many = _degrading("delete_many", None)
    clear = _degrading("clear", False)

    @staticmethod
    def unavailable() -> bool:
        return redis_is_down()
