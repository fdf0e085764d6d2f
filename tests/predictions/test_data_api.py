"""The read-only data API: filters, `simulated` on every item, a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from predictions.models import Sport
from tests.predictions.factories import GameFactory, PlayerFactory, PropLineFactory, ResultFactory, StatLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def nba(db):
    return Sport.objects.get(code="nba")


def make_props(sport, n):
    for _ in range(n):
        prop = PropLineFactory(
            game=GameFactory(sport=sport, simulated=True),
            simulated=True,
            oracle_mean=20.0,
            oracle_dispersion=0.05,
            oracle_p_over=0.55,
            oracle_p_under=0.45,
            oracle_p_push=0.0,
        )
        ResultFactory(game=prop.game, player=prop.player, stat=prop.stat, value=22)


def queries(client, url) -> int:
    client.get("/api/me/")  # the token is checked once per process; later requests skip it
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/api/props/?sport=nba", make_props),
        ("/api/games/?sport=nba", lambda sport, n: GameFactory.create_batch(n, sport=sport)),
        ("/api/players/?sport=nba", lambda sport, n: PlayerFactory.create_batch(n, sport=sport)),
        (
            "/api/stat-lines/?sport=nba",
            lambda sport, n: [StatLineFactory(game=GameFactory(sport=sport)) for _ in range(n)],
        ),
    ],
)
def test_list_endpoints_make_a_constant_number_of_queries(user_client, nba, url, make):
    make(nba, 2)
    few = queries(user_client, url)
    make(nba, 6)
    assert queries(user_client, url) == few


def test_props_show_simulated_the_oracle_and_the_result(user_client, nba, django_assert_max_num_queries):
    make_props(nba, 3)
    # The token, the list's generation, the count, the page's keys, its rows' values (props,
    # games, players), the rows not rendered yet.
    with django_assert_max_num_queries(8):
        body = user_client.get("/api/props/?sport=nba&stat=points").json()
    assert body["count"] == 3
    item = body["results"][0]
    assert item["sport"] == "nba" and item["simulated"] is True
    assert item["oracle"] == {"mean": 20.0, "dispersion": 0.05, "p_over": 0.55, "p_under": 0.45, "p_push": 0.0}
    assert item["result"] == {"value": 22.0, "status": "settled"}
    assert set(item["game"]) >= {"external_id", "date", "home_team", "away_team"}


def test_games_filter_by_sport_and_date_and_a_bad_date_is_400(user_client, nba):
    GameFactory(sport=nba, date=dt.date(2024, 11, 1), simulated=True)
    GameFactory(sport=nba, date=dt.date(2024, 11, 2))
    body = user_client.get("/api/games/?sport=nba&date=2024-11-01").json()
    assert [(g["date"], g["simulated"]) for g in body["results"]] == [("2024-11-01", True)]
    bad = user_client.get("/api/games/?date=11/01/2024")
    assert bad.status_code == 400 and "date" in bad.json()["error"]["fields"]


def test_sports_list_the_catalogue_with_the_simulated_flag(user_client):
    sports = {s["code"]: s["simulated"] for s in user_client.get("/api/sports/").json()}
    assert sports == {"mlb": False, "nba": True, "nfl": True, "nhl": True}


def test_the_data_api_needs_a_signed_in_user(api_client):
    assert api_client.get("/api/props/").status_code == 401


def test_the_props_page_lists_props_with_the_simulated_tag(client, user, password, nba):
    make_props(nba, 2)
    client.login(username=user.username, password=password)
    page = client.get("/predictions/?sport=nba")
    assert page.status_code == 200
    assert b"simulated-tag" in page.content and b'data-testid="props"' in page.content
