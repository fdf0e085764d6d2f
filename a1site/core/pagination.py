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
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable
from django.db.models.sql.where import WhereNode
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
        # The key is the filter, not the row shape: compiling only the keys' query costs a
        # third of compiling the whole annotated select (~1 ms of a page on the props list).
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        alias = getattr(queryset, "db", "default")
        text = f"{connections[alias].vendor}|{sql}|{params!r}"
        key = "a1:count:" + hashlib.sha256(text.encode()).hexdigest()[:32]
        found = cache.get(key)
        if found is None:
            found = super().count
            if found >= LARGE_COUNT:
                cache.set(key, found, COUNT_CACHE_S)
        return found

    def page(self, number) -> Page:
        queryset = self.object_list
        if not _late_row_lookup_applies(queryset):
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(queryset.values_list("pk", flat=True)[bottom:top])
        rows = {}
        if keys:
            by_key = queryset.order_by()
            # The keys carry the filter. Left in, SQLite plans the second read from the filter
            # (every NBA prop, say) and checks each against the keys: ~50 ms instead of ~1.
            by_key.query.where = WhereNode()
            rows = by_key.filter(pk__in=keys).in_bulk()
        # A row deleted between the two reads is left out of the page, not shown as a gap.
        return self._get_page([rows[key] for key in keys if key in rows], number, self)


def _late_row_lookup_applies(queryset) -> bool:
    """Model rows from a plain query (not values(), not DISTINCT, not sliced already)."""
    return (
        isinstance(queryset, QuerySet)
        and queryset._iterable_class is ModelIterable
        and not queryset.query.distinct
        and not queryset.query.is_sliced
        and not queryset._prefetch_related_lookups
    )


class CachedCountPagination(PageNumberPagination):
    """DRF's page-number pagination (``?page=``) with the cached count above."""

    django_paginator_class = CachedCountPaginator
