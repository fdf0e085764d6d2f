"""Reads of the request path on PostgreSQL."""

import pytest

from predictions.selectors.rows import prop_row_version_rows

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_the_rows_of_props_deleted_since_their_keys_were_read_are_none_not_an_error():
    # Before: the games' SELECT ran with an empty ``IN ()``, a syntax error on PostgreSQL.
    assert prop_row_version_rows([10**9, 10**9 + 1]) == []
