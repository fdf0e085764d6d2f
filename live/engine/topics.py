"""Topic classes: which streams go first when a client falls behind, and which ticks merge."""

from __future__ import annotations

PRIORITY_CONTROL = 0  # replies to the client's own requests
PRIORITY_HIGH = 1  # alerts, portfolio, jobs: few, personal, must not wait behind bulk ticks
PRIORITY_NORMAL = 2  # games, predictions
PRIORITY_BULK = 3  # odds ticks: many, and a newer price of the same line supersedes an older one
PRIORITIES = (PRIORITY_CONTROL, PRIORITY_HIGH, PRIORITY_NORMAL, PRIORITY_BULK)

_PREFIX_PRIORITY = {
    "alerts": PRIORITY_HIGH,
    "portfolio": PRIORITY_HIGH,
    "jobs": PRIORITY_HIGH,
    "games": PRIORITY_NORMAL,
    "predictions": PRIORITY_NORMAL,
    "odds": PRIORITY_BULK,
}


def topic_prefix(topic: str) -> str:
    return topic.split(".", 1)[0]


def topic_priority(topic: str) -> int:
    return _PREFIX_PRIORITY.get(topic_prefix(topic), PRIORITY_NORMAL)


def line_key(topic: str, data) -> str | None:
    """Identity of one book's line (game, player, stat, book) on an odds topic; None elsewhere."""
    if topic_prefix(topic) != "odds" or not isinstance(data, dict):
        return None
    parts = (data.get("game"), data.get("player"), data.get("stat"), data.get("book"))
    if any(part is None for part in parts):
        return None
    return f"{topic}|{parts[0]}|{parts[1]}|{parts[2]}|{parts[3]}"


# One part of a topic name (between dots) may hold these characters as they are; every other
# character, the escape ':' included, is written ':' + two hex digits per UTF-8 byte, so any
# text maps to exactly one part and back (percent-encoding with ':' for '%').
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
TOPIC_PART_MAX = 128


def topic_part(text: str) -> str:
    """``text`` (a game id, say) as one topic-name part: ``"BOS@LAL 1.5"`` → ``"BOS:40LAL:201:2E5"``."""
    return "".join(
        char if char in _PLAIN else "".join(f":{byte:02X}" for byte in char.encode("utf-8")) for char in text
    )


def topic_part_text(part: str) -> str:
    """The inverse of :func:`topic_part`."""
    pieces, index, pending = [], 0, bytearray()
    while index < len(part):
        if part[index] == ":":
            pending.append(int(part[index + 1 : index + 3], 16))
            index += 3
            continue
        if pending:
            pieces.append(pending.decode("utf-8"))
            pending.clear()
        pieces.append(part[index])
        index += 1
    if pending:
        pieces.append(pending.decode("utf-8"))
    return "".join(pieces)
