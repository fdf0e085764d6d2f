"""Who may read which topic. Domain apps register their prefixes from AppConfig.ready():

    from live.registry import register_topic
    register_topic("portfolio", authorize=lambda user, topic: portfolio_is_owned(user, topic))

``authorize(user, topic) -> bool`` runs in a worker thread (it may query the database).
``stream(user, topic) -> str`` maps a personal topic to its per-user stream (``alerts`` →
``alerts.7``). A prefix nobody registered is refused: topics are closed by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .engine.topics import topic_prefix

Authorize = Callable[[object, str], bool]
StreamFor = Callable[[object, str], str]


@dataclass(frozen=True)
class TopicRule:
    prefix: str
    authorize: Authorize
    stream: StreamFor | None = None


_RULES: dict[str, TopicRule] = {}


def register_topic(prefix: str, authorize: Authorize, *, stream: StreamFor | None = None) -> None:
    if not prefix or "." in prefix:
        raise ValueError(f"A topic prefix is one word (e.g. 'portfolio'), not {prefix!r}.")
    _RULES[prefix] = TopicRule(prefix, authorize, stream)


def unregister_topic(prefix: str) -> None:
    _RULES.pop(prefix, None)


def rule_for(topic: str) -> TopicRule | None:
    return _RULES.get(topic_prefix(topic))


def registered_prefixes() -> list[str]:
    return sorted(_RULES)
