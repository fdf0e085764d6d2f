"""DRF's anonymous and per-user rate throttles with a constant cost per request.

DRF's ``SimpleRateThrottle`` keeps the time of every request in the window as one cached
list, read and written back whole on each request: at 6,000/min a busy user's request
unpickles and re-pickles (locally) or moves over the network (Redis) up to 6,000 floats.
Measured in process: 50 µs with an empty history, 136 µs at 1,000 entries, 414 µs at 5,000
(bench/predict.py ``http_cached_p50_ms`` runs with ~1,000). Not a library: DRF ships only
the history throttle, and django-ratelimit's counter (fixed windows, up to twice the rate
across a window edge) is a decorator for plain views, not a DRF throttle.

These keep two counters per client instead, this window's and the last one's, and estimate
the requests of the last ``duration`` seconds as the last window's count weighted by how
much of it still overlaps, plus this window's count (the "sliding window counter" of
Cloudflare's and Redis' rate-limiting write-ups): one ``get_many`` and one ``add``/``incr``
per request, whatever the rate. In Redis the read, the check and the count are one Lua script
(one round trip instead of three: ``get_many``, then ``add`` or ``incr``, was ~15 % of a
services worker's samples on job polls under load, py-spy), and atomic, so two processes can
no longer both pass on the same last free slot.

With Redis unreachable (services mode) the counters move to this process' memory
(``LOCAL_COUNTERS``): each server process then limits on its own, so a client spread over
N processes gets up to N times the rate until Redis is back. A limit that holds per process
beats failing every request (a 500) or not limiting at all; each such decision is logged once
per outage by the breaker and counted as ``a1_redis_degraded_total{operation="throttle_local"}``.
"""

from __future__ import annotations

import logging
import math

from django.core.cache.backends.locmem import LocMemCache
from redis.commands.core import Script
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from .metrics import REDIS_DEGRADED

# Counters used while the shared cache is unreachable; bounded like any LocMemCache.
LOCAL_COUNTERS = LocMemCache("a1-throttle-local", {"OPTIONS": {"MAX_ENTRIES": 20_000}})
logger = logging.getLogger(__name__)
_counting_locally = False  # logged once per outage, not once per request

# KEYS: this window's counter, the last one's. ARGV: the last one's weight (its overlap), the
# rate, the counter's lifetime. Returns {allowed, last window's count, this one's before}.
_SLIDING_WINDOW = Script(
    None,
    b"""
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if previous * tonumber(ARGV[1]) + current >= tonumber(ARGV[2]) then
  return {0, previous, current}
end
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return {1, previous, current}
""",
)


class SlidingWindowCounterMixin:
    """``allow_request`` / ``wait`` for a ``SimpleRateThrottle`` subclass (same rates, scopes
    and cache keys), counting requests in two fixed windows."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        if self._shared_cache_down():
            return self._allow(LOCAL_COUNTERS)
        # The shared Redis cache runs the counter as one script (a1site/core/cache.py); DRF's
        # ``cache`` is Django's proxy to the default cache, which passes the lookup on.
        eval_script = getattr(self.cache, "eval_script", None)
        if eval_script is None:
            return self._allow(self.cache)
        # Not at the top: DRF imports this module while a1site.core.errors (which resilience
        # imports) is still being imported.
        from .resilience import REDIS_FAILURES

        try:
            return self._allow_in_redis(eval_script)
        except REDIS_FAILURES:  # Redis failed during this request: count it here instead
            if not self._shared_cache_down():  # (which counts it once the breaker is open)
                REDIS_DEGRADED.labels("throttle_local").inc()
            return self._allow(LOCAL_COUNTERS)

    def _shared_cache_down(self) -> bool:
        global _counting_locally
        unavailable = getattr(self.cache, "unavailable", None)
        if unavailable is not None and unavailable():
            REDIS_DEGRADED.labels("throttle_local").inc()
            if not _counting_locally:
                _counting_locally = True
                logger.warning("throttle: the shared cache is unreachable; counting requests in this process")
            return True
        if _counting_locally:
            _counting_locally = False
            logger.info("throttle: counting requests in the shared cache again")
        return False

    def _allow(self, cache) -> bool:
        window = int(self.now // self.duration)
        current, previous = f"{self.key}:{window}", f"{self.key}:{window - 1}"
        counts = cache.get_many([current, previous])
        overlap = 1.0 - (self.now - window * self.duration) / self.duration
        self.previous_count = counts.get(previous, 0)
        self.current_count = counts.get(current, 0)
        if self.previous_count * overlap + self.current_count >= self.num_requests:
            return False
        # Each counter outlives its own window and the next, where it is the previous one.
        if not cache.add(current, 1, timeout=2 * self.duration):
            try:
                cache.incr(current)
            except ValueError:  # expired between add and incr
                cache.add(current, 1, timeout=2 * self.duration)
        return True

    def _allow_in_redis(self, eval_script) -> bool:
        """``_allow`` as one script in Redis, under the same keys."""
        window = int(self.now // self.duration)
        overlap = 1.0 - (self.now - window * self.duration) / self.duration
        allowed, self.previous_count, self.current_count = eval_script(
            _SLIDING_WINDOW,
            [f"{self.key}:{window}", f"{self.key}:{window - 1}"],
            [repr(overlap), self.num_requests, 2 * self.duration],
        )
        return bool(allowed)

    def wait(self) -> float | None:
        """Seconds until the estimate falls below the rate (at most the rest of the window,
        when the previous window's weight is gone)."""
        window_start = (self.now // self.duration) * self.duration
        rest = window_start + self.duration - self.now
        if self.current_count >= self.num_requests or not self.previous_count:
            return max(rest, 1.0)
        # previous · (1 - (t - start) / duration) + current < rate  ⇔  t - start > ...
        needed = (1.0 - (self.num_requests - self.current_count) / self.previous_count) * self.duration
        return max(math.ceil(needed - (self.now - window_start)), 1.0)


class AnonSlidingRateThrottle(SlidingWindowCounterMixin, AnonRateThrottle):
    pass


class UserSlidingRateThrottle(SlidingWindowCounterMixin, UserRateThrottle):
    pass
