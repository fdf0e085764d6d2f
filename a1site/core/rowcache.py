"""Rendered list rows, kept per process under everything they show.

A list page costs far more to render than to read: on the props list (50 rows, each a prop
with its game, teams, player, result and latest prediction), building ~350 model instances and
serializing or templating them was ~20 of a page's ~25 ms, the SQL ~2. From one request to the
next most rows of a page are the same, so each rendered row is kept under its *version*: a
tuple of every value the row shows, read fresh for the page's rows in one query on every
request. A row whose data changed has a new version and is rendered again; the old rendering
is never looked up again and ages out. Nothing has to be invalidated, so no write path can be
forgotten: a row from this cache is never stale, only cold.

Bounded: each cache is an LRU of at most ``ROW_CACHE_ROWS`` rows (setting, default 4,000),
per server process; docs/performance.md says what each holds.

``PageCache`` keeps whole answers (a page of a list: its rows, count and links) under a
*generation*: a number the database raises in the transaction of every write to what the list
shows (its triggers; predictions migration 0005). A page is read under the generation read
before it, so a write committed in between gives the next request a new generation and a
fresh page: a page from this cache is never stale either. Bounded by ``PAGE_CACHE_PAGES``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence

from cachetools import LRUCache
from django.conf import settings

from .metrics import ROW_CACHE

Render = Callable[[list[int]], Iterable[tuple[int, Hashable, object]]]


_ALL: list[RowCache] = []


def clear_all() -> None:
    """Empty every row cache of this process (tests: a rolled-back SQLite test database
    hands out the same primary keys again, for other rows)."""
    for rows in _ALL:
        rows.clear()


class PageCache:
    """``page(generation, key, render)``: the answer kept under (generation, key), or
    ``render()``'s, kept. A ``None`` generation (no counter to read) renders every time."""

    def __init__(self, name: str, *, max_pages: int | None = None) -> None:
        _ALL.append(self)
        self.name = name
        self._max_pages = max_pages
        self._pages: LRUCache | None = None
        self._lock = threading.Lock()

    def page(self, generation: int | None, key: Hashable, render: Callable[[], object]):
        if generation is None:
            return render()
        with self._lock:
            if self._pages is None:
                self._pages = LRUCache(maxsize=self._max_pages or settings.PAGE_CACHE_PAGES)
            found = self._pages.get((generation, key))
        ROW_CACHE.labels(self.name, "miss" if found is None else "hit").inc()
        if found is None:
            found = render()
            with self._lock:
                self._pages[(generation, key)] = found
        return found

    def clear(self) -> None:
        with self._lock:
            self._pages = None

    def __len__(self) -> int:
        return len(self._pages) if self._pages is not None else 0


class RowCache:
    """``rows(versions, render)``: the rendered row of each version, cached or rendered."""

    def __init__(self, name: str, *, max_rows: int | None = None) -> None:
        _ALL.append(self)
        self.name = name
        self._max_rows = max_rows
        self._rows: LRUCache | None = None
        self._lock = threading.Lock()  # the server runs A1_HTTP_THREADS threads per process

    @property
    def _cache(self) -> LRUCache:
        if self._rows is None:
            self._rows = LRUCache(maxsize=self._max_rows or settings.ROW_CACHE_ROWS)
        return self._rows

    def rows(self, versions: Sequence[Hashable], render: Render) -> list:
        """The rendered row of each version, in order. ``render(indexes)`` renders the rows at
        ``indexes`` of ``versions`` that are not cached and returns ``(index, version, row)``
        for each: the version it read with the row, under which the row is kept (the data may
        have changed since ``versions`` was read: the row is then kept under its new version,
        never under an old one). A row ``render`` leaves out (deleted meanwhile) is left out."""
        with self._lock:
            cache = self._cache
            found = [cache.get(version) for version in versions]
        missing = [k for k, row in enumerate(found) if row is None]
        if missing:
            rendered = render(missing)
            with self._lock:
                for k, version, row in rendered:
                    found[k] = cache[version] = row
        ROW_CACHE.labels(self.name, "hit").inc(len(versions) - len(missing))
        ROW_CACHE.labels(self.name, "miss").inc(len(missing))
        return [row for row in found if row is not None]

    def clear(self) -> None:
        with self._lock:
            self._rows = None

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else 0
