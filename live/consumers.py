"""The /ws/ consumer: authenticate, parse, check topic permission, hand over to the hub.

The protocol (message shapes, close codes) is documented in live/engine/protocol.py and
docs/live.md. Fan-out does not use the channel layer: each process' hub (live/hub.py) holds one
broker subscription per topic and writes to its local clients (measured in bench/live.py).
Where the server offers them in the ASGI scope (a1site.ws_fast, the default of a1site.serve),
two extensions make the per-client work cheap at 10,000 clients: a synchronous send for frames
and a shortcut for the bare heartbeat (a1site/ws_extensions.py). Without them (stock uvicorn,
channels' test communicator) the consumer uses the ASGI send and receive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from a1site.ws_extensions import SEND_NOW_EXTENSION, SHORTCUT_EXTENSION

from . import services
from .backends import BrokerUnavailable
from .engine.outbox import Outbox, batch_frame
from .engine.protocol import (
    CLOSE_BAD_MESSAGES,
    CLOSE_IDLE,
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    Auth,
    Ping,
    ProtocolError,
    Resume,
    Subscribe,
    Unsubscribe,
    parse_client_message,
)
from .engine.ratelimit import TokenBucket
from .hub import control, get_hub, start_eagerly

CLOSE_TIMEOUT_S = 10
BARE_PING = b'{"type":"ping"}'  # what the JS client and the bench send every heartbeat_s
PONG = control({"type": "pong"})
logger = logging.getLogger(__name__)


class LiveConsumer(AsyncWebsocketConsumer):
    # No channel layer per connection: the hub fans out (one broker subscription per process).
    channel_layer_alias = "live-hub-no-layer"

    async def __call__(self, scope, receive, send):
        """One plain receive loop instead of channels' generic dispatcher.

        channels' ``AsyncConsumer`` waits on its sources with ``asyncio.wait`` and a new task
        per message, then hops to a worker thread (``aclose_old_connections``) before every
        handler: with 10,000 clients pinging every ``LIVE_HEARTBEAT_S`` that thread hop alone
        was most of the idle CPU (bench/live.py). This consumer has one source (no channel
        layer) and touches the database only through ``database_sync_to_async``, which closes
        stale connections itself, so neither is needed here.
        """
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    await self.receive(text_data=message.get("text"), bytes_data=message.get("bytes"))
                elif kind == "websocket.connect":
                    await self.websocket_connect(message)
                elif kind == "websocket.disconnect":
                    await self.websocket_disconnect(message)
        except StopConsumer:
            pass

    async def connect(self):
        self.user = None
        self.closing = False
        self.subscriptions: dict[str, str] = {}  # topic → stream
        # Refused while the broker was down: topic → (filters, resume position); retried when back.
        self.pending: dict[str, tuple] = {}
        self.outbox = Outbox(settings.LIVE_OUTBOX_CAPACITY)
        # Read once: Django's settings object is a lazy proxy (~1 µs a lookup), and these are read
        # per delivery (max batch) or by the sweep for every connection (timeouts).
        self.max_batch = settings.LIVE_MAX_BATCH
        self.idle_timeout_s = settings.LIVE_IDLE_TIMEOUT_S
        self.auth_timeout_s = settings.LIVE_AUTH_TIMEOUT_S
        self.bucket = TokenBucket(rate=settings.LIVE_RATE_PER_S, burst=settings.LIVE_RATE_BURST)
        self.rate_strikes: list[float] = []
        self.bad_strikes: list[float] = []
        self.connected_at = self.last_inbound = time.monotonic()
        self._sending = False
        self._send_task: asyncio.Task | None = None
        # The fast path's synchronous send (a1site.ws_fast); absent elsewhere (stock uvicorn, tests).
        extensions = self.scope.get("extensions") or {}
        self._send_now = extensions.get(SEND_NOW_EXTENSION)
        self._handling = False  # inside receive(): a heartbeat then takes the ordinary path
        if SHORTCUT_EXTENSION in extensions:
            extensions[SHORTCUT_EXTENSION](BARE_PING, self._heartbeat)
        self.hub = get_hub()
        await self.accept()
        self.hub.attach(self)
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            self._welcome(user)
            return
        token = parse_qs(self.scope.get("query_string", b"").decode()).get("token", [None])[0]
        if token:
            user = await database_sync_to_async(services.user_for_token)(key=token)
            if user is None:
                await self._close(CLOSE_UNAUTHENTICATED)
                return
            self._welcome(user)

    def _welcome(self, user) -> None:
        self.user = user
        self._reply(
            {
                "type": "welcome",
                "user": user.get_username(),
                "heartbeat_s": settings.LIVE_HEARTBEAT_S,
                "idle_timeout_s": settings.LIVE_IDLE_TIMEOUT_S,
                "limits": {
                    "max_subscriptions": settings.LIVE_MAX_SUBSCRIPTIONS,
                    "rate_per_s": settings.LIVE_RATE_PER_S,
                    "burst": settings.LIVE_RATE_BURST,
                    "outbox": settings.LIVE_OUTBOX_CAPACITY,
                },
            }
        )

    async def disconnect(self, code):
        self.closing = True
        self.hub.detach(self)
        self.outbox.clear()
        if self._send_task is not None:
            self._send_task.cancel()
        raise StopConsumer()

    # --- inbound ---------------------------------------------------------------------------

    def _heartbeat(self) -> bool:
        """A bare ping, read by the server protocol (a1site.ws_fast) without the ASGI receive:
        the same answer, rate limit and idle clock as receive(). False: not now (not yet
        authenticated, busy with an earlier message, over the rate limit), so the frame goes the
        ordinary way and gets the ordinary treatment."""
        if self.closing or self.user is None or self._handling or not self.bucket.allow():
            return False
        self.last_inbound = time.monotonic()
        self._send_control(PONG)
        return True

    async def receive(self, text_data=None, bytes_data=None):
        self._handling = True
        try:
            await self._receive(text_data)
        finally:
            self._handling = False

    async def _receive(self, text_data) -> None:
        if self.closing:
            return
        now = self.last_inbound = time.monotonic()
        if not self.bucket.allow():
            if self._strike(self.rate_strikes, now):
                await self._close(CLOSE_RATE_LIMITED)
                return
            self._reply(
                ProtocolError(
                    "rate_limited",
                    f"Inbound rate limit: {settings.LIVE_RATE_PER_S:g} messages/s (burst "
                    f"{settings.LIVE_RATE_BURST}); this message was dropped.",
                ).as_message()
            )
            return
        try:
            message = parse_client_message(text_data, max_topics=settings.LIVE_MAX_SUBSCRIPTIONS)
        except ProtocolError as error:
            await self._refuse(error)
            return
        if isinstance(message, Ping):
            if message.id is None:
                self._send_control(PONG)  # every client's heartbeat: one shared, pre-encoded reply
            else:
                self._reply({"type": "pong", "id": message.id})
        elif self.user is None:
            await self._authenticate(message)
        elif isinstance(message, Auth):
            self._reply({"type": "welcome", "user": self.user.get_username(), "id": message.id})
        elif isinstance(message, Subscribe):
            await self._subscribe(message.topics, message.filters, None, message.id)
        elif isinstance(message, Resume):
            await self._subscribe(tuple(message.positions), message.filters, message.positions, message.id)
        elif isinstance(message, Unsubscribe):
            await self._unsubscribe(message)

    async def _authenticate(self, message) -> None:
        if not isinstance(message, Auth):
            self._reply(ProtocolError("auth_required", "Send {'type': 'auth', 'token': ...} first.").as_message())
            await self._close(CLOSE_UNAUTHENTICATED)
            return
        user = await database_sync_to_async(services.user_for_token)(key=message.token)
        if user is None:
            self._reply(ProtocolError("auth_failed", "Invalid token.").as_message(message.id))
            await self._close(CLOSE_UNAUTHENTICATED)
            return
        self._welcome(user)

    async def _subscribe(self, topics, filters, positions, request_id) -> None:
        new = [t for t in topics if t not in self.subscriptions]
        limit = settings.LIVE_MAX_SUBSCRIPTIONS
        if len(self.subscriptions) + len(new) > limit:
            self._reply(
                ProtocolError(
                    "too_many_subscriptions",
                    f"Subscription limit is {limit} topics per connection; you follow "
                    f"{len(self.subscriptions)} and asked for {len(new)} more.",
                ).as_message(request_id)
            )
            return
        answers = await database_sync_to_async(services.topics_authorize)(user=self.user, topics=list(topics))
        accepted: dict[str, int] = {}
        for topic in topics:
            stream, error = answers[topic]
            if error is not None:
                await self._refuse(error, request_id)
                if self.closing:
                    return
                continue
            after = positions.get(topic) if positions else None
            self.subscriptions[topic] = stream
            self.pending.pop(topic, None)
            try:
                accepted[topic] = await self.hub.subscribe(self, stream, label=topic, filters=filters, after=after)
            except Exception as exc:
                self.subscriptions.pop(topic, None)
                if self.hub.broker_down or isinstance(exc, BrokerUnavailable):
                    # Known down: answer now (no wait per topic) and subscribe when it is back.
                    logger.warning("live: subscribe to %s refused: broker unreachable", topic)
                    self.pending[topic] = (filters, after)
                    self.hub.wait_for_broker(self)
                    message = (
                        f"Live updates for {topic!r} are unavailable right now; you will be "
                        "subscribed automatically when they are back."
                    )
                else:
                    logger.exception("live: subscribe to %s failed", topic)
                    message = f"Could not subscribe to {topic!r} right now; retry shortly."
                self._reply(ProtocolError("unavailable", message, topic=topic).as_message(request_id))
            if self.closing:
                return
        if accepted:
            body = {"type": "subscribed", "topics": accepted}
            if positions:
                body["resumed"] = True
            if filters.as_dict():
                body["filters"] = filters.as_dict()
            if request_id is not None:
                body["id"] = request_id
            self._reply(body)

    def broker_back(self) -> None:
        """The hub's broker is reachable again: subscribe to what was refused meanwhile."""
        if self.closing or not self.pending:
            return
        groups: dict = {}  # the same filters and kind (subscribe or resume): one request
        for topic, (filters, after) in self.pending.items():
            groups.setdefault((filters, after is None), {})[topic] = after
        self.pending = {}
        for (filters, fresh), positions in groups.items():
            topics = tuple(positions)
            self.hub.loop.create_task(self._subscribe(topics, filters, None if fresh else positions, None))

    async def _unsubscribe(self, message: Unsubscribe) -> None:
        removed = []
        for topic in message.topics:
            self.pending.pop(topic, None)
            stream = self.subscriptions.pop(topic, None)
            if stream is not None:
                self.hub.unsubscribe(self, stream)
                removed.append(topic)
        body = {"type": "unsubscribed", "topics": removed}
        if message.id is not None:
            body["id"] = message.id
        self._reply(body)

    def _strike(self, strikes: list, now: float) -> bool:
        """Count one strike; True when there were too many within the window."""
        strikes.append(now)
        horizon = now - settings.LIVE_STRIKE_WINDOW_S
        strikes[:] = [t for t in strikes if t >= horizon]
        return len(strikes) > settings.LIVE_MAX_STRIKES

    async def _refuse(self, error: ProtocolError, request_id=None) -> None:
        self._reply(error.as_message(request_id))
        if self._strike(self.bad_strikes, time.monotonic()):
            await self._close(CLOSE_BAD_MESSAGES)

    # --- outbound (called by the hub) --------------------------------------------------------

    def _reply(self, body: dict) -> None:
        self._send_control(control(body))

    def _send_control(self, item) -> None:
        if not self.closing and self.outbox.push(item):
            self.flush()

    def enqueue(self, item) -> None:
        if self.closing:
            return
        if not self.outbox.push(item):
            self._too_slow()
            return
        if len(self.outbox) >= self.max_batch:
            # A frame's worth is waiting: send it now rather than at the batch window's end, so a
            # burst (thousands of messages from one feed post) never fills the outbox of a
            # client that keeps up; only one whose socket stays full reaches capacity (4413).
            self.flush()
        else:
            self.hub.mark_dirty(self)

    def flush(self) -> None:
        if self._sending or self.closing or not self.outbox:
            return
        send_now = self._send_now
        if send_now is not None:
            while self.outbox:
                payload = self.outbox.drain_frame(self.max_batch)
                if not send_now(payload):  # socket full or closing: the ASGI send waits for it
                    self._sending = True
                    self._send_task = start_eagerly(self._send_all(payload.decode()))
                    return
            return
        self._sending = True
        # Usually finishes right here (a writable socket); a task only if it must wait.
        self._send_task = start_eagerly(self._send_all())

    async def _send_all(self, first: str | None = None) -> None:
        try:
            if first is not None:
                await self.base_send({"type": "websocket.send", "text": first})
            while self.outbox and not self.closing:
                texts = self.outbox.drain(self.max_batch)
                # Straight to the ASGI send: the consumer's send() only adds two coroutine layers.
                await self.base_send({"type": "websocket.send", "text": batch_frame(texts)})
        except Exception:  # the socket went away mid-send; disconnect() cleans up
            self.closing = True
        finally:
            self._sending = False
            self._send_task = None

    def _too_slow(self) -> None:
        """Outbound queue full even after merging: drop this client, not everyone's latency."""
        self.closing = True
        self.hub.detach(self)
        self.outbox.clear()
        if self._send_task is not None:
            self._send_task.cancel()
        asyncio.get_running_loop().create_task(self._close_now(CLOSE_TOO_SLOW))

    def check_idle(self, now: float) -> None:
        if self.closing:
            return
        if self.user is None and now - self.connected_at > self.auth_timeout_s:
            asyncio.get_running_loop().create_task(self._close(CLOSE_UNAUTHENTICATED))
        elif now - self.last_inbound > self.idle_timeout_s:
            asyncio.get_running_loop().create_task(self._close(CLOSE_IDLE))

    async def _close(self, code: int) -> None:
        """Send what is queued (the error that explains the close), then close with ``code``."""
        if self.closing:
            return
        self.closing = True
        self.hub.detach(self)
        with contextlib.suppress(Exception):
            texts = self.outbox.drain(settings.LIVE_MAX_BATCH)
            if texts:
                await asyncio.wait_for(self.send(text_data=batch_frame(texts)), CLOSE_TIMEOUT_S)
        await self._close_now(code)

    async def _close_now(self, code: int) -> None:
        self.closing = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.close(code=code), CLOSE_TIMEOUT_S)
