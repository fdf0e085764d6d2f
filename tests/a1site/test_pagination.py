"""List pages count a large list once per COUNT_CACHE_S, small lists every time."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from a1site.audit.models import AuditEvent
from a1site.core import pagination
from a1site.core.pagination import CachedCountPaginator

pytestmark = pytest.mark.django_db


def _count_queries(paginator_factory) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        paginator = paginator_factory()
        count = paginator.count
    return count, sum("COUNT(" in query["sql"].upper() for query in queries.captured_queries)


def test_a_large_count_is_read_once_and_reused_by_later_pages(monkeypatch):
    monkeypatch.setattr(pagination, "LARGE_COUNT", 3)
    AuditEvent.objects.bulk_create(AuditEvent(action="x", object_type="t", object_id=str(i)) for i in range(5))
    queryset = AuditEvent.objects.filter(action="x").order_by("id")

    assert _count_queries(lambda: CachedCountPaginator(queryset, 2)) == (5, 1)
    AuditEvent.objects.create(action="x", object_type="t", object_id="6")
    # Within COUNT_CACHE_S the cached count answers (no COUNT query; it lags the new row).
    assert _count_queries(lambda: CachedCountPaginator(queryset, 2)) == (5, 0)
    # Another filter is another count.
    assert _count_queries(lambda: CachedCountPaginator(queryset.filter(object_id="6"), 2)) == (1, 1)


def test_a_small_list_is_counted_every_time():
    AuditEvent.objects.create(action="y", object_type="t", object_id="1")
    queryset = AuditEvent.objects.filter(action="y").order_by("id")
    assert _count_queries(lambda: CachedCountPaginator(queryset, 2)) == (1, 1)
    AuditEvent.objects.create(action="y", object_type="t", object_id="2")
    assert _count_queries(lambda: CachedCountPaginator(queryset, 2)) == (2, 1)


def test_the_api_lists_use_the_cached_count_pagination(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] == "a1site.core.pagination.CachedCountPagination"
