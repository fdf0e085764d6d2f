"""Where messages get their seq, are kept for resume, and travel between processes.

Two brokers with one contract:

- ``MemoryBroker`` (embedded mode): an in-process ring per topic; publish() hands the message
  to every hub (event loop) of this process.
- ``RedisBroker`` (services mode, ``REDIS_URL`` set): one Lua script per publish does INCR
  (the seq, atomic across processes and hosts), XADD to the topic's bounded stream (history)
  and PUBLISH of the serialized text; each ASGI process holds one pub/sub connection,
  subscribed to the topics its clients follow, and fans out locally (live/hub.py).

The message text is built once, at publish time, and is the same bytes in the stream, on the
pub/sub channel and on every client's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

import redis
import redis.asyncio as aioredis
from django.conf import settings

from .engine.history import RingHistory, Since, since_from
from .engine.outbox import INBOUND_CHUNK

logger = logging.getLogger(__name__)

KEY_PREFIX = "a1:live"


def message_parts(*, topic: str, type: str, ts: str, data) -> tuple[str, str]:
    """The message JSON split around its seq, so the seq can be filled in where it is assigned."""
    head = '{"topic":' + json.dumps(topic) + ',"seq":'
    tail = ',"type":' + json.dumps(type) + ',"ts":' + json.dumps(ts) + ',"data":'
    tail += json.dumps(data, separators=(",", ":"), default=str) + "}"
    return head, tail


class BrokerUnavailable(ConnectionError):
    """The live broker (Redis) is known to be unreachable: answer at once, do not wait for it."""


class Listener:
    """A hub's view of the broker: subscriptions, current seqs and history reads (async)."""

    down = False  # True while the broker is known to be unreachable

    async def subscribe(self, stream: str) -> None: ...

    async def unsubscribe(self, stream: str) -> None: ...

    async def current(self, streams: list[str]) -> dict[str, int]: ...

    async def since(self, stream: str, after: int) -> Since: ...

    async def close(self) -> None: ...


# --- embedded ------------------------------------------------------------------------------


class MemoryBroker:
    def __init__(self, *, history_size: int):
        self.history = RingHistory(history_size)
        self._lock = threading.Lock()
        self._hubs: weakref.WeakSet = weakref.WeakSet()

    def publish(self, *, stream: str, topic: str, type: str, ts: str, data) -> int:
        head, tail = message_parts(topic=topic, type=type, ts=ts, data=data)
        # Hand-off inside the lock keeps each loop's callbacks in seq order per topic.
        with self._lock:
            seq, text = self.history.append(stream, lambda seq: f"{head}{seq}{tail}")
            for hub in list(self._hubs):
                hub.deliver_threadsafe(stream, text)
        return seq

    def listen(self, hub, on_reconnect: Callable[[], None]) -> Listener:
        self._hubs.add(hub)
        return _MemoryListener(self)


class _MemoryListener(Listener):
    def __init__(self, broker: MemoryBroker):
        self.broker = broker

    async def subscribe(self, stream: str) -> None:
        return None

    async def unsubscribe(self, stream: str) -> None:
        return None

    async def current(self, streams: list[str]) -> dict[str, int]:
        return {s: self.broker.history.current(s) for s in streams}

    async def since(self, stream: str, after: int) -> Since:
        return self.broker.history.since(stream, after)

    async def close(self) -> None:
        return None


# --- services mode: Redis ----------------------------------------------------------------------

# KEYS: seq counter, history stream. ARGV: channel, head, tail, history size, ttl seconds.
# A new counter starts at Redis' clock in microseconds (see engine/history.py for why).
PUBLISH_LUA = """
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then
  local now = redis.call('TIME')
  seq = tonumber(now[1]) * 1000000 + tonumber(now[2]) + 1
  redis.call('SET', KEYS[1], string.format('%.0f', seq))
end
local id = string.format('%.0f', seq)
local text = ARGV[2] .. id .. ARGV[3]
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], id .. '-0', 'm', text)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[1], text)
return id
"""


# KEYS: seq counters; ARGV[1]: ttl. Creates missing counters (see RingHistory.current).
CURRENT_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if not value then
    local now = redis.call('TIME')
    value = string.format('%.0f', tonumber(now[1]) * 1000000 + tonumber(now[2]))
    redis.call('SET', key, value, 'EX', ARGV[1], 'NX')
    value = redis.call('GET', key)
  end
  out[i] = value
end
return out
"""


def live_namespace(*, setting: str, redis_url: str, database_name: str) -> str:
    """The deployment's part of every live key and channel: LIVE_NAMESPACE if set, else the
    database's name and the Redis DB number. Pub/sub channels are global to a Redis server
    (the DB number does not separate them), so two deployments or a test run sharing one
    server must not share channel names."""
    if setting:
        return setting
    db = redis.connection.parse_url(redis_url).get("db", 0) if redis_url else 0
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(database_name)).name)[-60:]
    return f"{name}.{db}"


class RedisBroker:
    def __init__(self, *, url: str, history_size: int, ttl_s: int, namespace: str = ""):
        self.url = url
        self.history_size = history_size
        self.ttl_s = ttl_s
        self.prefix = f"{KEY_PREFIX}:{namespace}" if namespace else KEY_PREFIX
        self.control_channel = f"{self.prefix}:ctl"
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self._script = self._client.register_script(PUBLISH_LUA)

    def seq_key(self, stream: str) -> str:
        return f"{self.prefix}:{{{stream}}}:seq"  # hash tag: counter and stream share a cluster slot

    def history_key(self, stream: str) -> str:
        return f"{self.prefix}:{{{stream}}}:h"

    def channel_for(self, stream: str) -> str:
        return f"{self.prefix}:m:{stream}"

    def publish(self, *, stream: str, topic: str, type: str, ts: str, data) -> int:
        head, tail = message_parts(topic=topic, type=type, ts=ts, data=data)
        seq = self._script(
            keys=[self.seq_key(stream), self.history_key(stream)],
            args=[self.channel_for(stream), head, tail, self.history_size, self.ttl_s],
        )
        return int(seq)

    def publish_many(self, messages: list[dict]) -> list[int]:
        """Several ``publish(**message)`` in one round trip (a pipeline, not a transaction:
        each message still gets its seq, history entry and PUBLISH atomically, in order)."""
        pipe = self._client.pipeline(transaction=False)
        for message in messages:
            head, tail = message_parts(
                topic=message["topic"], type=message["type"], ts=message["ts"], data=message["data"]
            )
            stream = message["stream"]
            self._script(
                keys=[self.seq_key(stream), self.history_key(stream)],
                args=[self.channel_for(stream), head, tail, self.history_size, self.ttl_s],
                client=pipe,
            )
        return [int(seq) for seq in pipe.execute()]

    def listen(self, hub, on_reconnect: Callable[[], None]) -> Listener:
        return _RedisListener(self, hub, on_reconnect)


# Seconds a subscribe waits for Redis to confirm (it takes about a millisecond when it is up).
SUBSCRIBE_TIMEOUT_S = 2.0


class _RedisListener(Listener):
    """One pub/sub connection per event loop (per server process), re-established on failure."""

    def __init__(self, broker: RedisBroker, hub, on_reconnect: Callable[[], None]):
        self.broker = broker
        self.hub = hub
        self.on_reconnect = on_reconnect
        # Blocking pool: a burst of subscribes waits for a connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            broker.url, max_connections=32, timeout=10, socket_connect_timeout=2, socket_timeout=5
        )
        self.client = aioredis.Redis(connection_pool=pool)
        self._current_script = self.client.register_script(CURRENT_LUA)
        self.streams: set[str] = set()
        self._confirmations: dict[str, asyncio.Future] = {}
        self._pubsub = None
        self._connected = asyncio.Event()
        self.down = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        backoff, first = 0.05, True
        while True:
            try:
                self._pubsub = self.client.pubsub()
                channels = [self.broker.channel_for(s) for s in self.streams]
                await self._pubsub.subscribe(self.broker.control_channel, *channels)
                self._connected.set()
                was_down, self.down = self.down, False
                if not first or was_down:
                    logger.info("live: pub/sub reconnected; catching up %d topics", len(self.streams))
                    asyncio.get_running_loop().call_later(0.05, self.on_reconnect)
                first, backoff = False, 0.05
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Whatever broke the read (a Redis restart mostly: RedisError, OSError), this task
                # must not end: a hub whose listener died would stay connected to its clients and
                # silently stop delivering. Reconnect; on_reconnect then fills gaps or resyncs.
                self._connected.clear()
                self.down = True
                expected = isinstance(exc, redis.RedisError | OSError)
                logger.log(
                    logging.WARNING if expected else logging.ERROR,
                    "live: pub/sub connection lost (%r); retrying in %.2fs",
                    exc,
                    backoff,
                    exc_info=not expected,
                )
                with contextlib.suppress(Exception):
                    await self._pubsub.aclose()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _read(self) -> None:
        prefix_length = len(self.broker.channel_for(""))
        deliver = self.hub.deliver
        read = 0
        while True:
            message = await self._pubsub.get_message(timeout=5.0)
            if message is None:
                continue
            read += 1
            if read % INBOUND_CHUNK == 0:
                # Messages already buffered come back without a suspension: let the loop write
                # to the sockets between chunks of a burst (live/hub.py _deliver_inbound).
                await asyncio.sleep(0)
            kind = message["type"]
            channel = message["channel"].decode()
            if kind == b"message" or kind == "message":
                deliver(channel[prefix_length:], message["data"].decode())
            elif kind in (b"subscribe", "subscribe"):
                future = self._confirmations.pop(channel, None)
                if future is not None and not future.done():
                    future.set_result(None)

    async def subscribe(self, stream: str) -> None:
        channel = self.broker.channel_for(stream)
        if self.down:
            raise BrokerUnavailable("the live broker (Redis) is unreachable")
        self.streams.add(stream)
        waited = 0.0
        while not self._connected.is_set():  # the first connection is being made: not for long
            if self.down or waited >= SUBSCRIBE_TIMEOUT_S:
                raise BrokerUnavailable("the live broker (Redis) is unreachable")
            await asyncio.sleep(0.05)
            waited += 0.05
        future = self._confirmations.get(channel)
        if future is None:
            future = self._confirmations[channel] = asyncio.get_running_loop().create_future()
        await self._pubsub.subscribe(channel)
        await asyncio.wait_for(asyncio.shield(future), timeout=SUBSCRIBE_TIMEOUT_S)

    async def unsubscribe(self, stream: str) -> None:
        self.streams.discard(stream)
        if self._connected.is_set():
            with contextlib.suppress(redis.RedisError, OSError):
                await self._pubsub.unsubscribe(self.broker.channel_for(stream))

    async def current(self, streams: list[str]) -> dict[str, int]:
        values = await self._current_script(keys=[self.broker.seq_key(s) for s in streams], args=[self.broker.ttl_s])
        return {s: int(v) for s, v in zip(streams, values, strict=True)}

    async def since(self, stream: str, after: int) -> Since:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.get(self.broker.seq_key(stream))
            pipe.xrange(self.broker.history_key(stream), min=f"{after + 1}-0", max="+", count=self.broker.history_size)
            current, rows = await pipe.execute()
        entries = [(int(entry_id.split(b"-")[0]), fields[b"m"].decode()) for entry_id, fields in rows]
        return since_from(entries, after=after, current=int(current) if current else 0)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        with contextlib.suppress(Exception):
            await self.client.aclose()


_broker = None
_broker_lock = threading.Lock()


def get_broker():
    """The process' broker, from settings (REDIS_URL → Redis, else in-memory)."""
    global _broker
    if _broker is None:
        with _broker_lock:
            if _broker is None:
                size = settings.LIVE_HISTORY_SIZE
                if settings.REDIS_URL:
                    namespace = live_namespace(
                        setting=settings.LIVE_NAMESPACE,
                        redis_url=settings.REDIS_URL,
                        database_name=settings.DATABASES["default"]["NAME"],
                    )
                    _broker = RedisBroker(
                        url=settings.REDIS_URL,
                        history_size=size,
                        ttl_s=settings.LIVE_HISTORY_TTL_S,
                        namespace=namespace,
                    )
                else:
                    _broker = MemoryBroker(history_size=size)
    return _broker


def reset_broker() -> None:
    """Tests: forget the broker (and its history), e.g. after changing settings."""
    global _broker
    with _broker_lock:
        _broker = None
