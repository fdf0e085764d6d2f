"""What the site does when Redis is gone: a circuit breaker, and one 503 for what needs it.

Redis is the cache, the Celery broker and the live broker (services mode). Without it the
site keeps answering what does not need it: cached reads become misses (a1site/core/cache.py),
throttles count in the process (a1site/core/throttling.py). What cannot be done without it
(queueing a job, publishing a feed) raises ``RedisUnavailable``: a 503 in the error shape with
``Retry-After``, raised before anything is written.

The breaker (pybreaker) opens after ``REDIS_BREAKER_FAIL_MAX`` consecutive Redis errors in this
process; while open, Redis calls fail at once instead of each paying the socket timeout (2 s
for a Redis that accepts connections and never answers). After ``REDIS_BREAKER_RESET_S`` one
call is let through; its success closes the breaker again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pybreaker
import redis
from django.conf import settings

from .errors import ApplicationError
from .metrics import REDIS_DEGRADED, REDIS_STATE, REDIS_TRIPS

logger = logging.getLogger(__name__)


class _StateLog(pybreaker.CircuitBreakerListener):
    def state_change(self, cb, old_state, new_state):
        name = new_state.name if new_state is not None else "?"
        REDIS_STATE.set(1 if name == pybreaker.STATE_OPEN else 0)
        if name == pybreaker.STATE_OPEN:
            REDIS_TRIPS.inc()
            logger.warning("redis: unreachable; circuit breaker open for %ss", cb.reset_timeout)
        elif name == pybreaker.STATE_CLOSED:
            logger.info("redis: reachable again; circuit breaker closed")


def _not_a_redis_failure(exc: BaseException) -> bool:
    return not isinstance(exc, redis.RedisError | OSError)


redis_breaker = pybreaker.CircuitBreaker(
    fail_max=getattr(settings, "REDIS_BREAKER_FAIL_MAX", 2),
    reset_timeout=getattr(settings, "REDIS_BREAKER_RESET_S", 5.0),
    exclude=[_not_a_redis_failure],
    listeners=[_StateLog()],
    name="redis",
)

# What a failed Redis call raises, through the breaker or not.
REDIS_FAILURES = (redis.RedisError, OSError, pybreaker.CircuitBreakerError)


class RedisUnavailable(ApplicationError):
    """503 ``unavailable`` with ``Retry-After``: this needs Redis and Redis is gone."""

    def __init__(self, what: str):
        retry_after = max(1, round(redis_breaker.reset_timeout))
        super().__init__(
            f"Cannot {what} right now: a service it needs (Redis) is unreachable. Nothing was "
            f"changed; retry in {retry_after} s.",
            code="unavailable",
            status_code=503,
        )
        self.retry_after = retry_after


def redis_is_down() -> bool:
    """True while the breaker is open and not yet due for its trial call: a caller that skips
    Redis when this is True (the throttle) then still lets the trial call happen on time."""
    if redis_breaker.current_state != pybreaker.STATE_OPEN:
        return False
    opened_at = redis_breaker._state_storage.opened_at  # pybreaker's storage API (public there)
    return opened_at is not None and datetime.now(UTC) < opened_at + timedelta(seconds=redis_breaker.reset_timeout)


def redis_call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` through the breaker: raises one of REDIS_FAILURES if Redis is gone."""
    return redis_breaker.call(fn, *args, **kwargs)


_probe = None


def require_redis(what: str) -> None:
    """Raise ``RedisUnavailable`` unless Redis answers a PING (at once if the breaker is open).
    No-op in the embedded mode (no REDIS_URL)."""
    global _probe
    if not settings.REDIS_URL:
        return
    if _probe is None:
        _probe = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        redis_call(_probe.ping)
    except REDIS_FAILURES as exc:
        REDIS_DEGRADED.labels("refused_503").inc()
        logger.warning("redis: refusing to %s (%r)", what, exc)
        raise RedisUnavailable(what) from exc
