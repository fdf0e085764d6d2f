"""The /ws/ protocol: what a client may send, how it is validated, and the close codes.

Client → server (one JSON object per frame)::

    {"type": "auth", "token": "<DRF token>"}
    {"type": "subscribe", "topics": ["odds.nba", ...], "filters": {"sport", "player", "stat", "min_edge"}}
    {"type": "unsubscribe", "topics": [...]}
    {"type": "resume", "topics": {"odds.nba": 41, ...}, "filters": {...}}
    {"type": "ping"}

Server → client: every frame is a JSON array of messages (a batch). A stream message is
``{"topic", "seq", "type", "ts", "data"}``; replies and notices carry only ``type`` plus
their fields (``welcome``, ``subscribed``, ``unsubscribed``, ``pong``, ``error``, ``resync``).
No Django here: the consumer feeds frames in and gets dataclasses or a ProtocolError out.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

# Close codes (4000–4999 is the range RFC 6455 leaves to applications). Each names one cause,
# so a client can tell "fix your code" from "reconnect later".
CLOSE_BAD_MESSAGES = 4400  # too many malformed / unknown / forbidden messages in a row
CLOSE_UNAUTHENTICATED = 4401  # no valid session or token (or no auth message in time)
CLOSE_IDLE = 4408  # nothing received (not even a ping) within the idle timeout
CLOSE_TOO_SLOW = 4413  # outbound queue full: the client reads slower than its streams arrive
CLOSE_RATE_LIMITED = 4429  # kept sending above the inbound rate limit after being told
CLOSE_SERVER_RESTART = 1012  # sent by uvicorn when a server shuts down: reconnect and resume

CLOSE_CODES = {
    CLOSE_BAD_MESSAGES: "too many invalid messages",
    CLOSE_UNAUTHENTICATED: "not authenticated",
    CLOSE_IDLE: "idle: no heartbeat",
    CLOSE_TOO_SLOW: "client too slow: outbound queue full",
    CLOSE_RATE_LIMITED: "inbound rate limit exceeded repeatedly",
    CLOSE_SERVER_RESTART: "server restarting",
}

# A topic is a dotted name: a registered prefix, then up to three parts (sport, "game", id...).
# An id with other characters is escaped into a part by live.engine.topics.topic_part (up to
# TOPIC_PART_MAX characters, which the feeds check before they accept an id).
TOPIC_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}(\.[A-Za-z0-9_:\-]{1,128}){0,3}$")
MAX_TOPIC_LENGTH = 180
MAX_FRAME_CHARS = 16_384  # a subscribe for the maximum number of topics fits comfortably
FILTER_KEYS = ("sport", "player", "stat", "min_edge")
MESSAGE_TYPES = ("auth", "subscribe", "unsubscribe", "resume", "ping")


class ProtocolError(ValueError):
    """A client mistake. ``code`` is stable (documented in docs/live.md); ``topic`` when one is at fault."""

    def __init__(self, code: str, message: str, *, topic: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.topic = topic

    def as_message(self, request_id=None) -> dict:
        body = {"type": "error", "code": self.code, "message": self.message}
        if self.topic is not None:
            body["topic"] = self.topic
        if request_id is not None:
            body["id"] = request_id
        return body


@dataclass(frozen=True)
class Filters:
    sport: str | None = None
    player: str | None = None
    stat: str | None = None
    min_edge: float | None = None

    @property
    def empty(self) -> bool:
        return self.sport is None and self.player is None and self.stat is None and self.min_edge is None

    def matches(self, data) -> bool:
        """A filter only applies to messages that carry its field (an odds tick has no edge)."""
        if self.empty or not isinstance(data, dict):
            return True
        if self.sport is not None and "sport" in data and str(data["sport"]).lower() != self.sport:
            return False
        if self.stat is not None and "stat" in data and str(data["stat"]).lower() != self.stat:
            return False
        if self.player is not None:
            names = {str(data[k]).lower() for k in ("player", "player_id", "player_name") if data.get(k) is not None}
            if names and self.player not in names:
                return False
        if self.min_edge is not None:
            edge = data.get("edge")
            if isinstance(edge, int | float) and edge < self.min_edge:
                return False
        return True

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in FILTER_KEYS if getattr(self, k) is not None}


NO_FILTERS = Filters()


@dataclass(frozen=True)
class Auth:
    token: str
    id: object = None


@dataclass(frozen=True)
class Subscribe:
    topics: tuple[str, ...]
    filters: Filters = NO_FILTERS
    id: object = None


@dataclass(frozen=True)
class Unsubscribe:
    topics: tuple[str, ...]
    id: object = None


@dataclass(frozen=True)
class Resume:
    positions: dict[str, int] = field(default_factory=dict)
    filters: Filters = NO_FILTERS
    id: object = None


@dataclass(frozen=True)
class Ping:
    id: object = None


ClientMessage = Auth | Subscribe | Unsubscribe | Resume | Ping


def validate_topic(topic) -> str:
    if not isinstance(topic, str) or len(topic) > MAX_TOPIC_LENGTH or not TOPIC_RE.match(topic):
        raise ProtocolError(
            "invalid_topic",
            f"Invalid topic {str(topic)[:60]!r}: expected a dotted name like 'odds.nba' or 'games.123'.",
            topic=topic if isinstance(topic, str) else None,
        )
    return topic


def parse_filters(raw) -> Filters:
    if raw is None:
        return NO_FILTERS
    if not isinstance(raw, dict):
        raise ProtocolError("invalid_filter", "filters must be an object with sport, player, stat, min_edge.")
    unknown = sorted(set(raw) - set(FILTER_KEYS))
    if unknown:
        raise ProtocolError("invalid_filter", f"Unknown filter(s) {unknown}; allowed: {list(FILTER_KEYS)}.")
    values: dict = {}
    for key in ("sport", "player", "stat"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            raise ProtocolError("invalid_filter", f"filters.{key} must be a non-empty string or id.")
        values[key] = str(value).strip().lower()[:64]
    min_edge = raw.get("min_edge")
    if min_edge is not None:
        if isinstance(min_edge, bool) or not isinstance(min_edge, int | float) or not math.isfinite(min_edge):
            raise ProtocolError("invalid_filter", "filters.min_edge must be a number (e.g. 0.05 for 5%).")
        values["min_edge"] = float(min_edge)
    return Filters(**values)


def _topic_list(raw, *, max_topics: int) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ProtocolError("invalid_message", "topics must be a non-empty list of topic names.")
    if len(raw) > max_topics:
        raise ProtocolError(
            "too_many_subscriptions", f"At most {max_topics} topics per connection; this message lists {len(raw)}."
        )
    return tuple(dict.fromkeys(validate_topic(t) for t in raw))


def parse_client_message(text, *, max_topics: int) -> ClientMessage:
    """One inbound frame → a message dataclass, or ProtocolError saying what is wrong."""
    if text is None:
        raise ProtocolError("malformed", "Binary frames are not accepted; send JSON text.")
    if len(text) > MAX_FRAME_CHARS:
        raise ProtocolError("malformed", f"Frame too large ({len(text)} chars; limit {MAX_FRAME_CHARS}).")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("malformed", f"Frame is not valid JSON: {exc}")
    if not isinstance(raw, dict):
        raise ProtocolError("malformed", "A frame must be a JSON object with a 'type'.")
    kind = raw.get("type")
    request_id = raw.get("id") if isinstance(raw.get("id"), str | int) else None
    if kind == "ping":
        return Ping(id=request_id)
    if kind == "auth":
        token = raw.get("token")
        if not isinstance(token, str) or not token or len(token) > 128:
            raise ProtocolError("invalid_message", "auth needs a 'token' string.")
        return Auth(token=token, id=request_id)
    if kind == "subscribe":
        return Subscribe(
            topics=_topic_list(raw.get("topics"), max_topics=max_topics),
            filters=parse_filters(raw.get("filters")),
            id=request_id,
        )
    if kind == "unsubscribe":
        return Unsubscribe(topics=_topic_list(raw.get("topics"), max_topics=max_topics), id=request_id)
    if kind == "resume":
        positions = raw.get("topics")
        if not isinstance(positions, dict) or not positions:
            raise ProtocolError("invalid_message", "resume needs 'topics': {topic: last_seen_seq, ...}.")
        if len(positions) > max_topics:
            raise ProtocolError(
                "too_many_subscriptions", f"At most {max_topics} topics per connection; resume lists {len(positions)}."
            )
        parsed: dict[str, int] = {}
        for topic, seq in positions.items():
            validate_topic(topic)
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
                raise ProtocolError(
                    "invalid_message", f"resume: seq for {topic!r} must be an integer ≥ 0.", topic=topic
                )
            parsed[topic] = seq
        return Resume(positions=parsed, filters=parse_filters(raw.get("filters")), id=request_id)
    if kind is None:
        raise ProtocolError("malformed", "A frame needs a 'type'.")
    raise ProtocolError("unknown_type", f"Unknown message type {str(kind)[:40]!r}; known: {list(MESSAGE_TYPES)}.")
