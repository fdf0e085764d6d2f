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
