"""The props list's row cache (a1site/core/rowcache.py): a page read twice is rendered once, and
whatever changes in what a row shows (by any write, signals or not) is on the next read."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from a1site.core.rowcache import RowCache, clear_all
from a1site.registry.models import ModelVersion
from predictions import services
from predictions.models import Game, Player, Prediction, PropLine, Result, Sport, Team

pytestmark = pytest.mark.django_db

API = "/api/props/?sport=nba"
PAGE = "/predictions/?sport=nba"


@pytest.fixture
def scored(served, client, user):
    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    client.force_login(user)
    return served


def first_prop() -> PropLine:
    """The first row of both lists (newest game first)."""
    return PropLine.objects.order_by("-game__date", "game_id", "player_id", "stat", "book").first()


def read(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response, len(queries)


def test_a_page_read_again_is_served_from_the_cache_and_equals_a_fresh_rendering(scored, user_client, client):
    cold, _ = read(user_client, API)
    warm, warm_queries = read(user_client, API)
    assert warm.json() == cold.json() and len(cold.json()["results"]) == 20
    clear_all()
    assert read(user_client, API)[0].json() == cold.json()

    page, _ = read(client, PAGE)
    again, again_queries = read(client, PAGE)
    assert again.content.count(b'data-testid="prop-row"') == 20
    assert again_queries < read_without_cache(client, PAGE)
    clear_all()
    fresh, _ = read(client, PAGE)
    rows = lambda html: html[html.index(b"<tbody>") : html.index(b"</tbody>")]  # noqa: E731
    assert rows(fresh.content) == rows(again.content) == rows(page.content)


def read_without_cache(client, url) -> int:
    clear_all()
    return read(client, url)[1]


def _rename_player(prop):
    Player.objects.filter(pk=prop.player_id).update(name="Renamed Player")
    return "Renamed Player"


def _rename_home_team(prop):
    Team.objects.filter(pk=prop.game.home_team_id).update(abbreviation="ZZZ", name="Zed Team")
    return "ZZZ"


def _move_game(prop):
    Game.objects.filter(pk=prop.game_id).update(date=dt.date(2031, 1, 2))
    return "2031-01-02"


def _reprice(prop):
    PropLine.objects.filter(pk=prop.pk).update(over_decimal_odds=7.77)
    return "7.77"


def _settle(prop):
    Result.objects.create(game_id=prop.game_id, player_id=prop.player_id, stat=prop.stat, value=42.0)
    return "42"


def _another_version(prediction) -> ModelVersion:
    version = ModelVersion.objects.get(pk=prediction.model_version_id)
    version.pk, version.version, version.status = None, version.version + 1, ModelVersion.Status.CANDIDATE
    version.save()
    return version


def _newer_prediction(prop):
    latest = Prediction.objects.filter(prop_line=prop).latest("created_at", "id")
    latest.pk, latest.mean, latest.model_version = None, 33.33, _another_version(latest)
    latest.save()
    Prediction.objects.filter(pk=latest.pk).update(created_at=timezone.now() + dt.timedelta(seconds=1))
    return "33.33"


@pytest.mark.parametrize(
    "change", [_rename_player, _rename_home_team, _move_game, _reprice, _settle, _newer_prediction]
)
def test_every_change_to_what_a_row_shows_is_on_the_next_read(scored, user_client, client, change):
    prop = first_prop()
    read(user_client, API)
    read(client, PAGE)
    shown = change(prop)  # a queryset update: no signal, no invalidation
    api, _ = read(user_client, API)
    assert shown in str(api.json()["results"][0]) or shown in str(api.json()["results"])
    page, _ = read(client, PAGE)
    assert shown in page.content.decode()


def test_a_sport_relabelled_shows_on_the_page(scored, client):
    read(client, PAGE)
    Sport.objects.filter(code="nba").update(label="Basketball (NBA)")
    assert "Basketball (NBA)" in read(client, PAGE)[0].content.decode()


def test_a_shadow_prediction_never_replaces_the_shown_one(scored, user_client):
    prop = first_prop()
    before = read(user_client, API)[0].json()["results"][0]["prediction"]
    latest = Prediction.objects.get(pk=before["id"])
    latest.pk, latest.shadow, latest.mean, latest.model_version = None, True, 44.44, _another_version(latest)
    latest.save()
    Prediction.objects.filter(pk=latest.pk).update(created_at=timezone.now() + dt.timedelta(seconds=1))
    assert read(user_client, API)[0].json()["results"][0]["prediction"] == before
    assert prop.pk == read(user_client, API)[0].json()["results"][0]["id"]


def test_the_row_cache_is_bounded_keeps_a_row_under_the_version_it_was_rendered_from_and_skips_deleted_rows():
    rows = RowCache("test", max_rows=3)
    renders = []

    def render(indexes):
        renders.append(list(indexes))
        # Row 1 changed between the page's read and its rendering: kept under ("b", 2).
        out = {0: ("a", 1), 1: ("b", 2), 2: ("c", 1)}
        return [(k, out[k], f"row {out[k]}") for k in indexes if k != 3]  # row 3 was deleted

    assert rows.rows([("a", 1), ("b", 1), ("c", 1), ("d", 1)], render) == [
        "row ('a', 1)",
        "row ('b', 2)",
        "row ('c', 1)",
    ]
    assert rows.rows([("a", 1), ("b", 2)], render) == ["row ('a', 1)", "row ('b', 2)"]
    assert renders == [[0, 1, 2, 3]]  # the second read rendered nothing
    rows.rows([("e", 1)], lambda indexes: [(0, ("e", 1), "e")])
    assert len(rows) == 3
