"""The props list's generation on PostgreSQL: its statement-level triggers (with transition
tables for predictions) raise it for every write the SQLite triggers do, once a statement."""

import pytest
from django.db import connection

from predictions.models import PropLine
from predictions.selectors.rows import props_list_generation
from tests.predictions.factories import PropLineFactory
from tests.predictions.test_props_list_generation import (
    WRITES,
    check_a_flushed_generation_is_read_as_none_and_made_again_by_the_next_write,
    check_a_prediction_of_no_prop_line_leaves_it,
    check_a_write_rolled_back_leaves_it,
    check_every_write_raises_the_generation,
    prop,  # noqa: F401 (a fixture)
)

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_to_what_the_list_shows_raises_the_generation(prop, name):  # noqa: F811
    check_every_write_raises_the_generation(prop, name)


def test_a_prediction_of_no_prop_line_leaves_the_generation(prop):  # noqa: F811
    check_a_prediction_of_no_prop_line_leaves_it(prop)


def test_a_write_rolled_back_leaves_the_generation(prop):  # noqa: F811
    check_a_write_rolled_back_leaves_it(prop)


def test_a_flushed_generation_is_made_again_by_the_next_writes_trigger(prop):  # noqa: F811
    check_a_flushed_generation_is_read_as_none_and_made_again_by_the_next_write(prop)


def test_one_statement_raises_it_once_whatever_its_rows_and_truncate_raises_it(prop):  # noqa: F811
    before = props_list_generation()
    PropLine.objects.filter(game_id=prop.game_id).update(line=31.5)
    PropLine.objects.bulk_create(
        [PropLineFactory.build(game=prop.game, player=prop.player, book=f"b{k}") for k in range(5)]
    )
    assert props_list_generation() == before + 2
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's pending FK checks first
        cursor.execute("TRUNCATE predictions_result")
    assert props_list_generation() == before + 3
