"""Steam moves: the same line moving the same way at several books within a short window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class LinePoint:
    book: str
    line: Decimal
    ts: datetime


@dataclass(frozen=True)
class SteamMove:
    direction: str  # "up" or "down"
    books: tuple[str, ...]
    move: Decimal  # the smallest qualifying move among the books (a conservative size)
    window_start: datetime
    window_end: datetime


def detect_steam(
    points: list[LinePoint], *, now: datetime, window: timedelta, min_move: Decimal, min_books: int
) -> SteamMove | None:
    """A steam move: at least ``min_books`` books each moved by ≥ ``min_move`` in one direction
    within ``window`` before ``now`` (first line in the window, or the last one before it, vs the latest)."""
    start = now - window
    by_book: dict[str, list[LinePoint]] = {}
    for point in sorted(points, key=lambda p: p.ts):
        if point.ts <= now:
            by_book.setdefault(point.book, []).append(point)
    moves: dict[str, dict[str, Decimal]] = {"up": {}, "down": {}}
    for book, history in by_book.items():
        recent = [p for p in history if p.ts >= start]
        if not recent:
            continue
        before = [p for p in history if p.ts < start]
        reference = before[-1] if before else recent[0]
        delta = recent[-1].line - reference.line
        if delta >= min_move:
            moves["up"][book] = delta
        elif delta <= -min_move:
            moves["down"][book] = -delta
    for direction in ("up", "down"):
        books = moves[direction]
        if len(books) >= min_books:
            return SteamMove(direction, tuple(sorted(books)), min(books.values()), start, now)
    return None
