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


def _annotated_events():
    from django.db.models import OuterRef, Subquery

    later = AuditEvent.objects.filter(action=OuterRef("action"), id__gt=OuterRef("id")).order_by("id")
    return AuditEvent.objects.annotate(next_id=Subquery(later.values("id")[:1]))


@pytest.mark.parametrize("order", [("object_type", "id"), ("-next_id", "-id"), ("action", "-id")])
def test_a_page_read_by_its_keys_first_equals_the_plain_slice_with_its_annotations(order):
    AuditEvent.objects.bulk_create(
        AuditEvent(action=f"a{i % 3}", object_type=f"t{i % 4}", object_id=str(i)) for i in range(23)
    )
    queryset = _annotated_events().filter(object_id__regex=r"^\d+$").order_by(*order)
    expected = [(event.pk, event.next_id) for event in queryset]
    paginator = CachedCountPaginator(queryset, 5, orphans=2)
    seen = []
    for number in paginator.page_range:
        with CaptureQueriesContext(connection) as queries:
            page = paginator.page(number)
        seen += [(event.pk, event.next_id) for event in page]
        keys_sql, rows_sql = (query["sql"] for query in queries.captured_queries[-2:])
        # The subquery runs for the page's rows; the keys' read carries it only to order by it.
        assert ("next_id" in order[0]) == (keys_sql.count("SELECT") > 1), keys_sql
        assert "regexp" not in rows_sql.lower() and "IN (" in rows_sql
    assert seen == expected


def test_a_row_deleted_between_the_two_reads_is_left_out_not_a_gap(monkeypatch):
    AuditEvent.objects.bulk_create(AuditEvent(action="d", object_type="t", object_id=str(i)) for i in range(4))
    queryset = AuditEvent.objects.filter(action="d").order_by("id")
    first = queryset.first()
    original = queryset.values_list

    def keys_then_delete(*args, **kwargs):
        keys = list(original(*args, **kwargs)[:4])
        first.delete()
        return keys

    monkeypatch.setattr(type(queryset), "values_list", lambda self, *a, **k: _Sliceable(keys_then_delete(*a, **k)))
    page = CachedCountPaginator(queryset, 10).page(1)
    assert [event.object_id for event in page] == ["1", "2", "3"]


class _Sliceable(list):
    def __getitem__(self, item):
        return _Sliceable(super().__getitem__(item)) if isinstance(item, slice) else super().__getitem__(item)


def test_values_and_distinct_queries_are_paged_the_plain_way():
    AuditEvent.objects.bulk_create(AuditEvent(action="v", object_type="t", object_id=str(i)) for i in range(3))
    values = AuditEvent.objects.filter(action="v").order_by("id").values("object_id")
    assert list(CachedCountPaginator(values, 2).page(1)) == [{"object_id": "0"}, {"object_id": "1"}]
    distinct = AuditEvent.objects.filter(action="v").order_by("object_type").distinct().values_list("object_type")
    assert list(CachedCountPaginator(distinct, 2).page(1)) == [("t",)]
