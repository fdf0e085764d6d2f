"""The per-client outbound queue: priorities, merging of superseded odds ticks, batching.

Messages are shared, already-serialized objects (serialized once per process); the outbox
only holds references. ``drain()`` returns one frame's worth, highest priority first; the
caller joins them into one JSON array frame. Under pressure (``capacity`` reached) odds ticks
of the same line are merged (only the newest price stays, marked ``"merged": n``) before
``push`` reports overflow, at which point the caller closes the client as too slow.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .topics import PRIORITIES, PRIORITY_BULK

# Broker messages a process delivers per event-loop step before it lets the loop write and
# read sockets again (live/hub.py, live/backends.py): 256 × ~20 µs ≈ 5 ms of a burst at a time.
INBOUND_CHUNK = 256


@dataclass(slots=True, eq=False)
class Outgoing:
    """One serialized message, shared by every client of this process that receives it."""

    text: str
    priority: int
    topic: str | None = None
    seq: int | None = None
    merge_key: str | None = None
    frame: bytes | None = None  # this message alone as a frame's UTF-8 payload, built on first use


class Outbox:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        # Created on first use: an idle client (most of them) then costs no deque memory (~600 B each).
        self._queues: list[deque[Outgoing] | None] = [None for _ in PRIORITIES]
        self._size = 0
        # id(item) → how many superseded ticks it replaced, for this client only (items are shared).
        self._merged: dict[int, int] = {}
        self.merged_total = 0

    def __len__(self) -> int:
        return self._size

    def push(self, item: Outgoing) -> bool:
        """Queue ``item``; False means the queue is full even after merging (close the client)."""
        if self._size >= self.capacity:
            self.compact()
            if self._size >= self.capacity:
                return False
        queue = self._queues[item.priority]
        if queue is None:
            queue = self._queues[item.priority] = deque()
        queue.append(item)
        self._size += 1
        return True

    def compact(self) -> int:
        """Drop odds ticks superseded by a newer tick of the same line; returns how many went."""
        bulk = self._queues[PRIORITY_BULK]
        if bulk is None or len(bulk) < 2:
            return 0
        newest: dict[str, Outgoing] = {}
        kept: list[Outgoing] = []
        dropped = 0
        for item in reversed(bulk):
            key = item.merge_key
            if key is None:
                kept.append(item)
                continue
            winner = newest.get(key)
            if winner is None:
                newest[key] = item
                kept.append(item)
            else:
                self._merged[id(winner)] = self._merged.get(id(winner), 0) + 1 + self._merged.pop(id(item), 0)
                dropped += 1
        if dropped:
            kept.reverse()
            self._queues[PRIORITY_BULK] = deque(kept)
            self._size -= dropped
            self.merged_total += dropped
        return dropped

    def drain(self, max_items: int) -> list[str]:
        """Up to ``max_items`` message texts, priority order, FIFO within a priority."""
        texts: list[str] = []
        for queue in self._queues:
            if queue is None:
                continue
            while queue and len(texts) < max_items:
                item = queue.popleft()
                merged = self._merged.pop(id(item), 0) if self._merged else 0
                if merged:
                    texts.append(f'{item.text[:-1]},"merged":{merged}}}')
                else:
                    texts.append(item.text)
            if len(texts) >= max_items:
                break
        self._size -= len(texts)
        return texts

    def drain_frame(self, max_items: int) -> bytes:
        """One frame's UTF-8 payload. A message that leaves alone (the usual case: a client
        gets about one message per batch window) is encoded once per process and the same
        bytes go to every client that receives it alone."""
        if self._size == 1 and not self._merged:
            for queue in self._queues:
                if queue:
                    item = queue.popleft()
                    self._size = 0
                    if item.frame is None:
                        item.frame = batch_frame([item.text]).encode()
                    return item.frame
        return batch_frame(self.drain(max_items)).encode()

    def clear(self) -> None:
        self._queues = [None for _ in PRIORITIES]
        self._merged.clear()
        self._size = 0


def batch_frame(texts: list[str]) -> str:
    """The wire format: one JSON array of messages per frame."""
    return "[" + ",".join(texts) + "]"
