"""Django's Redis cache, degraded to a miss when Redis is unreachable.

A cache is an optimisation: with Redis gone a read is a miss and a write is skipped, so a page
or an API answer is computed instead of failing (counted as ``a1_redis_degraded_total``
{operation="cache_bypass"}). Every call goes through the Redis circuit breaker
(a1site/core/resilience.py), so once Redis is known down no request waits on a socket timeout.
``incr`` keeps Django's contract (ValueError for a missing key, which is what it is then).

**One connection pool per process.** Django keeps its cache objects in an asgiref ``Local``
that is per context, not per thread, and the ASGI bridge runs every request in a fresh copy of
the loop's context (a1site/core/wsgi_bridge.py), as Django's own ASGI handler does per task.
So each request built a new ``RedisCache``, a new redis-py pool and a new TCP connection to
Redis (with redis-py's ``CLIENT SETINFO`` round trips on connect): py-spy put connecting at
11 % of a services worker's samples on job polls. redis-py's pool is thread-safe and checks
the pid after a fork, so the client, and the pool in it, is shared by every cache object of
the process with the same servers and options.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

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


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


class ResilientRedisCache(RedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client

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

    def eval_script(self, script, keys: list[str], args: list):
        """A redis-py ``Script`` run on these keys (made as this cache makes its keys), through
        the process' pool and the breaker: raises one of REDIS_FAILURES if Redis is gone."""
        keys = [self.make_and_validate_key(key) for key in keys]
        return redis_call(script, keys, args, self._cache.get_client(keys[0], write=True))
