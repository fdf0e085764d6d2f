"""Reads of the request path on PostgreSQL."""

import pytest
from django.conf import settings
from django.db import connection

from predictions.selectors.rows import prop_row_version_rows

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_query_run_often_on_a_connection_is_planned_once_and_reused():
    threshold = settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold", 5)
    for _ in range(threshold):
        assert prop_row_version_rows([1, 2, 3]) == []
    assert not any('"predictions_propline" p' in statement for statement in _prepared())
    prop_row_version_rows([1, 2, 3])
    assert any('"predictions_propline" p' in statement for statement in _prepared())


def test_the_rows_of_props_deleted_since_their_keys_were_read_are_none_not_an_error():
    # Before: the games' SELECT ran with an empty ``IN ()``, a syntax error on PostgreSQL.
    assert prop_row_version_rows([10**9, 10**9 + 1]) == []
