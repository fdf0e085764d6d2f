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


def test_a_token_looked_up_on_postgresql_is_the_row_drf_reads(make_user):
    """The one-query token lookup (a1site.accounts.authentication.TokenLookup) against DRF's
    ORM read of the same token, field for field, with PostgreSQL's own types (an aware
    ``created``, a boolean ``is_active``)."""
    from rest_framework.authtoken.models import Token

    from a1site.accounts.authentication import look_up

    user = make_user("pg-token-reader")
    token = Token.objects.create(user=user)
    expected = Token.objects.select_related("user").get(key=token.key)
    found_user, found_token = look_up(token.key)
    for fields, got, want in (
        (Token._meta.concrete_fields, found_token, expected),
        (type(user)._meta.concrete_fields, found_user, expected.user),
    ):
        assert {f.attname: getattr(got, f.attname) for f in fields} == {
            f.attname: getattr(want, f.attname) for f in fields
        }
    assert found_token.created.tzinfo is not None and found_token.user is found_user
    assert look_up("0" * 40) is None
