"""Local fan-out: one hub per event loop (per ASGI server process).

The broker delivers each message once per process; the hub parses it once, wraps it in one
shared ``Outgoing`` and appends that to the outbox of each local subscriber whose filters
match. Per topic it tracks the last seq it saw: a duplicate is dropped, a gap (a pub/sub
connection that dropped, a race at subscribe) is filled from the history, and what the
history no longer holds becomes an explicit ``resync``. Every client subscription keeps its
own last seq too, so a message reaches a client at most once and in order.

Clients are flushed in batches: the first message queued for a client schedules one flush
``LIVE_BATCH_WINDOW_MS`` later for every client that got something in the meantime. A flush
writes synchronously where it can (``start_eagerly``, the server's ``send_now``): no task
per client per frame; only a client whose socket is full gets a task that waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from .backends import get_broker
from .engine.history import Since
from .engine.outbox import INBOUND_CHUNK, Outgoing
from .engine.protocol import Filters
from .engine.topics import PRIORITY_CONTROL, line_key, topic_priority

logger = logging.getLogger(__name__)

MAX_GAP_FILLS = 5


class Client(Protocol):
    def enqueue(self, item: Outgoing) -> None: ...

    def flush(self) -> None: ...

    def check_idle(self, now: float) -> None: ...


@dataclass(eq=False)
class Subscription:
    label: str  # the topic name the client used ("alerts"); the stream may be "alerts.7"
    filters: Filters
    last_seq: int = 0
    syncing: bool = True
    buffer: list = field(default_factory=list)


@dataclass(eq=False)
class TopicState:
    stream: str
    subs: dict = field(default_factory=dict)  # Client → Subscription
    last_seq: int | None = None
    ready: asyncio.Future | None = None
    filling: bool = False
    backlog: list = field(default_factory=list)


def control(body: dict, *, priority: int = PRIORITY_CONTROL) -> Outgoing:
    return Outgoing(json.dumps(body, separators=(",", ":")), priority)


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop, broker, *, batch_window_s: float, sweep_interval_s: float):
        self.loop = loop
        self.broker = broker
        self.batch_window_s = batch_window_s
        self.sweep_interval_s = sweep_interval_s
        self.topics: dict[str, TopicState] = {}
        self.clients: set = set()
        self.listener = broker.listen(self, self._on_reconnect)
        self._dirty: set = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._sweeper: asyncio.Task | None = None
        self.delivered = 0
        self._waiting: set = set()  # clients with topics to subscribe once the broker is back
        self._inbound: deque[tuple[str, str]] = deque()
        self._inbound_lock = threading.Lock()
        self._inbound_scheduled = False

    # --- clients -------------------------------------------------------------------------

    def attach(self, client) -> None:
        self.clients.add(client)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = self.loop.create_task(self._sweep())

    def detach(self, client) -> None:
        self.clients.discard(client)
        self._dirty.discard(client)
        self._waiting.discard(client)
        for stream in [s for s, state in self.topics.items() if client in state.subs]:
            self.unsubscribe(client, stream)
        if not self.clients and self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def mark_dirty(self, client) -> None:
        self._dirty.add(client)
        if self._flush_handle is None:
            self._flush_handle = self.loop.call_later(self.batch_window_s, self._flush_dirty)

    def _flush_dirty(self) -> None:
        self._flush_handle = None
        dirty, self._dirty = self._dirty, set()
        for client in dirty:
            try:
                client.flush()
            except Exception:  # one broken client must not leave the rest of the batch unsent
                logger.exception("live: flushing a client failed")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval_s)
            now = time.monotonic()
            for client in list(self.clients):
                client.check_idle(now)

    # --- subscriptions -------------------------------------------------------------------

    async def subscribe(self, client, stream: str, *, label: str, filters: Filters, after: int | None) -> int:
        """Follow ``stream``. ``after=None``: from now on; else resume after that seq (history
        replay, or a resync notice). Returns the topic's current seq."""
        state = self.topics.get(stream)
        if state is None:
            state = self.topics[stream] = TopicState(stream)
            state.ready = self.loop.create_task(self.listener.subscribe(stream))
        previous = state.subs.get(client)
        sub = Subscription(label, filters, last_seq=previous.last_seq if previous else 0)
        state.subs[client] = sub
        try:
            await asyncio.shield(state.ready)
            if after is None:
                current = (await self.listener.current([stream]))[stream]
                since = Since([], current)
                after = max(current, sub.last_seq) if previous else current
            else:
                since = await self.listener.since(stream, after)
        except BaseException:
            if state.subs.get(client) is sub:
                self.unsubscribe(client, stream)
            raise
        if state.subs.get(client) is not sub:
            return since.current  # unsubscribed (or re-subscribed) meanwhile
        if state.last_seq is None:
            state.last_seq = since.current
        if since.resync:
            client.enqueue(self._resync(stream, label, since.current))
            sub.last_seq = since.current
        else:
            sub.last_seq = after
            for seq, text in since.entries:
                self._offer(client, sub, *self._wrap(stream, seq, text))
        buffered, sub.buffer, sub.syncing = sub.buffer, [], False
        for item, data in buffered:
            self._offer(client, sub, item, data)
        return since.current

    def unsubscribe(self, client, stream: str) -> bool:
        state = self.topics.get(stream)
        if state is None or state.subs.pop(client, None) is None:
            return False
        if not state.subs:
            del self.topics[stream]
            self.loop.create_task(self.listener.unsubscribe(stream))
        return True

    # --- messages from the broker --------------------------------------------------------

    def deliver_threadsafe(self, stream: str, text: str) -> None:
        """From a publishing thread (the embedded broker): queue, and wake the loop once per
        burst rather than once per message."""
        with self._inbound_lock:
            self._inbound.append((stream, text))
            if self._inbound_scheduled:
                return
            self._inbound_scheduled = True
        if not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed between the check and the call
                self.loop.call_soon_threadsafe(self._deliver_inbound)

    def _deliver_inbound(self) -> None:
        """Deliver up to INBOUND_CHUNK queued messages, then let the loop write to the sockets
        (and read heartbeats) before the next chunk: a burst of thousands (one feed post) then
        leaves while it arrives instead of piling up in every client's outbox at once."""
        inbound = self._inbound
        for _ in range(INBOUND_CHUNK):
            if not inbound:
                break
            self.deliver(*inbound.popleft())
        with self._inbound_lock:
            if inbound:
                self.loop.call_soon(self._deliver_inbound)
            else:
                self._inbound_scheduled = False

    def deliver(self, stream: str, text: str) -> None:
        state = self.topics.get(stream)
        if state is None:
            return
        try:
            item, data = self._wrap(stream, None, text)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # Not one of ours (another writer on the channel, a truncated message): it must not
            # stop this hub's reader, nor move the topic's seq.
            logger.warning("live: dropped a malformed message on %s (%r)", stream, exc)
            return
        seq = item.seq
        if state.filling:
            state.backlog.append((item, data))
            return
        if state.last_seq is not None:
            if seq <= state.last_seq:
                return
            if seq > state.last_seq + 1:
                state.filling = True
                state.backlog.append((item, data))
                self.loop.create_task(self._fill_gap(state))
                return
        state.last_seq = seq
        self._fan_out(state, item, data)

    def _wrap(self, stream: str, seq: int | None, text: str) -> tuple[Outgoing, object]:
        message = json.loads(text)
        data = message.get("data")
        seq = message["seq"]
        topic = message["topic"]
        if type(seq) is not int or not (stream == topic or stream.startswith(f"{topic}.")):
            raise ValueError(f"not a message of {stream}")
        item = Outgoing(text, topic_priority(stream), stream, seq, line_key(stream, data))
        return item, data

    def _fan_out(self, state: TopicState, item: Outgoing, data) -> None:
        for client, sub in list(state.subs.items()):
            if sub.syncing:
                sub.buffer.append((item, data))
            else:
                self._offer(client, sub, item, data)

    def _offer(self, client, sub: Subscription, item: Outgoing, data) -> None:
        if item.seq <= sub.last_seq:
            return
        sub.last_seq = item.seq
        if sub.filters.matches(data):
            self.delivered += 1
            client.enqueue(item)

    def _resync(self, stream: str, label: str, current: int) -> Outgoing:
        body = {"type": "resync", "topic": label, "seq": current, "reason": "history_exceeded"}
        return control(body, priority=topic_priority(stream))

    async def _fill_gap(self, state: TopicState) -> None:
        """Fill a gap in the pub/sub stream from the history, then release the backlog in order."""
        try:
            for attempt in range(MAX_GAP_FILLS):
                try:
                    since = await asyncio.wait_for(self.listener.since(state.stream, state.last_seq), 5)
                except Exception as exc:  # broker unreachable for a moment (restart): retry, then resync
                    if attempt == MAX_GAP_FILLS - 1:
                        raise
                    logger.warning("live: history read for %s failed (%s); retrying", state.stream, exc)
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                if since.resync:
                    current = since.current
                    if not current:
                        # The counter is gone (Redis restarted empty): start it now, where the next
                        # publish continues, so clients get one resync at the right seq, not one at
                        # 0 and a second when the first new message looks like a gap.
                        current = (await self.listener.current([state.stream]))[state.stream]
                    self._resync_all(state, current)
                else:
                    for seq, text in since.entries:
                        if seq == state.last_seq + 1:
                            state.last_seq = seq
                            self._fan_out(state, *self._wrap(state.stream, seq, text))
                backlog, state.backlog = sorted(state.backlog, key=lambda pair: pair[0].seq), []
                for item, data in backlog:
                    if item.seq == state.last_seq + 1:
                        state.last_seq = item.seq
                        self._fan_out(state, item, data)
                    elif item.seq > state.last_seq + 1:
                        state.backlog.append((item, data))
                if not state.backlog:
                    return
            # Still ahead of the history after every read: a message past what the stream holds
            # is not the stream's (a foreign or forged seq) and is dropped; it never moves the seq.
            current = (await self.listener.current([state.stream]))[state.stream]
            foreign = [item.seq for item, _ in state.backlog if item.seq > current]
            if foreign:
                logger.warning("live: dropped %d message(s) on %s past its seq %d", len(foreign), state.stream, current)
            state.backlog = [(item, data) for item, data in state.backlog if item.seq <= current]
            if state.backlog or state.last_seq < current:
                self._resync_all(state, current)
            state.backlog = []
        except Exception:
            logger.exception("live: could not fill a gap on %s; sending resync", state.stream)
            # Where the stream is cannot be read: resync from the last seq this hub knows to be the
            # stream's (a later message that is then ahead starts a new fill).
            self._resync_all(state, state.last_seq or 0)
            state.backlog = []
        finally:
            state.filling = False

    def _resync_all(self, state: TopicState, current: int) -> None:
        state.last_seq = current
        for client, sub in list(state.subs.items()):
            sub.last_seq = max(sub.last_seq, current)
            sub.buffer = [(i, d) for i, d in sub.buffer if i.seq > current]
            client.enqueue(self._resync(state.stream, sub.label, current))

    @property
    def broker_down(self) -> bool:
        return self.listener.down

    def wait_for_broker(self, client) -> None:
        """Call ``client.broker_back()`` when the broker's connection is re-established."""
        self._waiting.add(client)

    def _on_reconnect(self) -> None:
        """After the pub/sub connection came back: anything published meanwhile is in the
        history (or gone, which becomes a resync); clients refused meanwhile subscribe again."""
        for state in list(self.topics.values()):
            if not state.filling and state.last_seq is not None:
                state.filling = True
                self.loop.create_task(self._fill_gap(state))
        waiting, self._waiting = self._waiting, set()
        for client in waiting:
            client.broker_back()


def start_eagerly(coro) -> asyncio.Task | None:
    """Run ``coro`` now, up to its first real suspension: None if it finished without one,
    else the task that carries on from there (what Python 3.12's ``eager_task_factory`` does).

    A send to a writable socket never suspends (uvicorn's send awaits only an Event that is
    set), so flushing 10,000 clients costs no Task each; a client whose socket buffer is full
    gets its own task and holds up nobody else.
    """
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    task = asyncio.get_running_loop().create_task(_carry_on(coro, waiting))
    task.add_done_callback(lambda _: coro.close())  # cancelled before its first step: still clean up
    return task


async def _carry_on(coro, waiting):
    """Drive a coroutine started by ``start_eagerly``: await what it yielded, then resume it
    (what a Task does with the futures its coroutine yields)."""
    while True:
        try:
            if waiting is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False  # taken over, as Task.__step does
                await waiting
        except BaseException as exc:  # cancelled, or the future failed: the coroutine decides
            try:
                waiting = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            waiting = coro.send(None)
        except StopIteration as stop:
            return stop.value


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(
            loop,
            get_broker(),
            batch_window_s=settings.LIVE_BATCH_WINDOW_MS / 1000,
            sweep_interval_s=settings.LIVE_SWEEP_INTERVAL_S,
        )
    return hub
