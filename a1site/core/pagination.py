"""Page-number pagination whose total count is cached for a short while.

Django's paginator runs ``COUNT(*)`` for every page; over a large filtered list (94,000 props)
that costs more than the page itself (~30 ms on SQLite). The count of a list changes only
when rows are added, so a large count (at least ``LARGE_COUNT`` rows) is kept in the Django
cache for ``COUNT_CACHE_S`` under its query: the first page of a filter pays the count, the
next pages and other clients reuse it, and that ``count`` may lag newly added rows by at most
``COUNT_CACHE_S``. Smaller lists (a user's jobs, a game's props) are counted every time, so
what a person just created is always counted. The page itself is always read fresh.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

COUNT_CACHE_S = 30
# Below this a COUNT costs about as much as a cache round trip (and staleness would show).
LARGE_COUNT = 5_000


class CachedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None:
            return super().count
        sql, params = query.sql_with_params()
        alias = getattr(queryset, "db", "default")
        text = f"{connections[alias].vendor}|{sql}|{params!r}"
        key = "a1:count:" + hashlib.sha256(text.encode()).hexdigest()[:32]
        found = cache.get(key)
        if found is None:
            found = super().count
            if found >= LARGE_COUNT:
                cache.set(key, found, COUNT_CACHE_S)
        return found


class CachedCountPagination(PageNumberPagination):
    """DRF's page-number pagination (``?page=``) with the cached count above."""

    django_paginator_class = CachedCountPaginator
