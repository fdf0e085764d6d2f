"""The props list's generation (predictions migration 0005): the database raises it with every
write to what the list shows, whoever writes, and whole pages are kept under it.

The write cases run here on SQLite and again on PostgreSQL (tests/services/predictions)."""

import itertools

import pytest
from django.db import connection, transaction
from django.db.utils import IntegrityError

from a1site.core.rowcache import PageCache
from a1site.registry.models import ModelVersion
from predictions.models import Game, Player, Prediction, PropLine, PropsListGeneration, Result, Sport, Team
from predictions.selectors import props_list_page
from predictions.selectors.rows import props_list_generation
from tests.predictions.factories import GameFactory, PropLineFactory, ResultFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def prop(db) -> PropLine:
    prop = PropLineFactory(game=GameFactory(sport=Sport.objects.get(code="nba")))
    ResultFactory(game=prop.game, player=prop.player, stat=prop.stat, value=22)
    return prop


_VERSIONS = itertools.count(1)


def _version() -> ModelVersion:
    return ModelVersion.objects.create(
        name="nba.points.xgboost", sport="nba", stat="points", kind="xgboost", version=next(_VERSIONS), artifact="a"
    )


def _prediction(prop: PropLine, *, priced: bool) -> Prediction:
    return Prediction.objects.create(
        prop_line=prop if priced else None, game=prop.game, player=prop.player, stat=prop.stat, line=prop.line,
        model_version=_version(), mean=20.0, p_over=0.5, p_under=0.5, p_push=0.0, feature_hash="f",
    )  # fmt: skip


def _raw(sql: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# Each a write, by any path, to a table the list shows.
WRITES = {
    "sport relabelled": lambda p: Sport.objects.filter(pk=p.game.sport_id).update(label="Basketball"),
    "team renamed": lambda p: Team.objects.filter(pk=p.game.home_team_id).update(name="Zed"),
    "player renamed (raw SQL)": lambda p: _raw(
        "UPDATE predictions_player SET name = %s WHERE id = %s", "Z", p.player_id
    ),
    "game moved": lambda p: Game.objects.filter(pk=p.game_id).update(season=1999),
    "odds changed": lambda p: PropLine.objects.filter(pk=p.pk).update(over_decimal_odds=7.77),
    "prop deleted": lambda p: PropLine.objects.filter(pk=p.pk).delete(),
    "prop added": lambda p: PropLineFactory(game=p.game),
    "result settled": lambda p: Result.objects.filter(game_id=p.game_id).update(value=42.0),
    "result deleted": lambda p: Result.objects.filter(game_id=p.game_id).delete(),
    "model version edited": lambda p: ModelVersion.objects.filter(pk=_version().pk).update(notes="retrained"),
    "prop priced": lambda p: _prediction(p, priced=True),
    "priced prediction deleted": lambda p: Prediction.objects.filter(pk=_prediction(p, priced=True).pk).delete(),
}


def check_every_write_raises_the_generation(prop: PropLine, name: str) -> None:
    before = props_list_generation()
    assert before is not None
    WRITES[name](prop)
    assert props_list_generation() > before, name


def check_a_prediction_of_no_prop_line_leaves_it(prop: PropLine) -> None:
    before = props_list_generation()
    unpriced = _prediction(prop, priced=False)  # its model version is a write of its own
    after_version = props_list_generation()
    Prediction.objects.filter(pk=unpriced.pk).update(mean=21.0)
    Prediction.objects.filter(pk=unpriced.pk).delete()
    assert after_version == props_list_generation() and after_version >= before
    # The API's predictions price no prop line; a prediction moved onto one is a change.
    again = _prediction(prop, priced=False)
    Prediction.objects.filter(pk=again.pk).update(prop_line=prop)
    assert props_list_generation() > after_version


def check_a_write_rolled_back_leaves_it(prop: PropLine) -> None:
    before = props_list_generation()
    with pytest.raises(IntegrityError), transaction.atomic():
        PropLine.objects.filter(pk=prop.pk).update(over_decimal_odds=9.0)
        Player.objects.create(sport=prop.player.sport, external_id=prop.player.external_id, name="twin")
    assert props_list_generation() == before


@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_to_what_the_list_shows_raises_the_generation(prop, name):
    check_every_write_raises_the_generation(prop, name)


def test_a_prediction_of_no_prop_line_leaves_the_generation(prop):
    check_a_prediction_of_no_prop_line_leaves_it(prop)


def test_a_write_rolled_back_leaves_the_generation(prop):
    check_a_write_rolled_back_leaves_it(prop)


def check_a_flushed_generation_is_read_as_none_and_made_again_by_the_next_write(prop: PropLine) -> None:
    for write in (
        lambda: PropLine.objects.filter(pk=prop.pk).update(line=30.5),
        lambda: _prediction(prop, priced=True),  # PostgreSQL: the predictions' own function
    ):
        PropsListGeneration.objects.all().delete()
        assert props_list_generation() is None  # the page renders afresh, and the read writes nothing
        assert props_list_generation() is None and not PropsListGeneration.objects.exists()
        write()
        again = props_list_generation()
        assert again is not None and again > 2**20  # a random number no page was kept under
        Player.objects.filter(pk=prop.player_id).update(name="renamed")
        assert props_list_generation() == again + 1


def test_a_flushed_generation_is_read_as_none_and_made_again_by_the_next_write(prop):
    check_a_flushed_generation_is_read_as_none_and_made_again_by_the_next_write(prop)


def test_a_page_is_kept_under_its_generation_and_key_and_the_cache_is_bounded():
    pages, renders = PageCache("test", max_pages=2), []

    def render(label):
        return lambda: renders.append(label) or label

    assert pages.page(1, "a", render("a1")) == "a1"
    assert pages.page(1, "a", render("again")) == "a1"
    assert pages.page(2, "a", render("a2")) == "a2"  # a write since: rendered again
    assert pages.page(None, "a", render("none")) == "none"  # no generation: never kept
    assert pages.page(None, "a", render("none again")) == "none again"
    pages.page(2, "b", render("b2"))
    assert len(pages) == 2 and renders == ["a1", "a2", "none", "none again", "b2"]


def test_a_page_read_twice_with_nothing_written_between_costs_one_query(prop, user_client):
    from django.test.utils import CaptureQueriesContext

    first = user_client.get("/api/props/?sport=nba").json()
    with CaptureQueriesContext(connection) as queries:
        again = user_client.get("/api/props/?sport=nba").json()
    assert again == first and len(queries) == 1
    calls = []
    page = props_list_page(PageCache("test"), "k", lambda: calls.append(1) or "page")
    assert page == "page" and calls == [1]
