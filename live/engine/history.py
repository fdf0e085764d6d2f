"""Per-topic sequence numbers and a bounded history (the embedded mode's in-memory ring).

The services mode keeps the same contract in Redis Streams (live/backends.py). A topic's seq
starts at the wall clock in microseconds when its counter is created, then counts by one: a
counter lost with a restart comes back *higher* than any seq a client has seen, so a client
resuming from an old position always gets an explicit resync, never someone else's messages.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


def seq_base() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class Since:
    """Answer to "what came after seq N": the entries in order, or resync=True if they are gone."""

    entries: list[tuple[int, str]]
    current: int
    resync: bool = False


def since_from(entries: list[tuple[int, str]], *, after: int, current: int) -> Since:
    """Shared rule: exactly the entries after ``after``, or resync if any are missing."""
    if after > current:
        return Since([], current, resync=True)  # counter reset under the client
    if after == current:
        return Since([], current)
    wanted = [(seq, text) for seq, text in entries if after < seq <= current]
    # Contiguous after+1..current, checked without building that range (seqs are ~1e15).
    contiguous = len(wanted) == current - after and all(seq == after + 1 + i for i, (seq, _) in enumerate(wanted))
    if not contiguous:
        return Since([], current, resync=True)
    return Since(wanted, current)


class RingHistory:
    """Thread-safe: publish() may run in any thread; reads come from the event loop."""

    def __init__(self, size: int, *, base: Callable[[], int] = seq_base):
        if size < 1:
            raise ValueError("history size must be at least 1")
        self.size = size
        self._base = base
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._rings: dict[str, deque[tuple[int, str]]] = {}

    def append(self, topic: str, build: Callable[[int], str]) -> tuple[int, str]:
        """Assign the next seq, build the message text for it, store it; atomically."""
        with self._lock:
            seq = self._seq.get(topic)
            seq = self._base() + 1 if seq is None else seq + 1
            self._seq[topic] = seq
            text = build(seq)
            ring = self._rings.get(topic)
            if ring is None:
                ring = self._rings[topic] = deque(maxlen=self.size)
            ring.append((seq, text))
            return seq, text

    def current(self, topic: str) -> int:
        """The topic's last seq; a topic nobody published to yet gets its counter now, so a
        subscriber always holds a real position to resume from."""
        with self._lock:
            seq = self._seq.get(topic)
            if seq is None:
                seq = self._seq[topic] = self._base()
            return seq

    def since(self, topic: str, after: int) -> Since:
        with self._lock:
            entries = list(self._rings.get(topic, ()))
            current = self._seq.get(topic, 0)
        return since_from(entries, after=after, current=current)
