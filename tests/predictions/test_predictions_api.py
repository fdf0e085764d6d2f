"""POST /api/predictions/ (one prop), /batch/ (up to 10,000), GET /api/props/ with edges."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from a1site.registry.services import model_version_activate
from predictions.api.views import PROP_PAGES
from predictions.models import Prediction

pytestmark = pytest.mark.django_db


def prop_for(served, index=0, **extra):
    game = served["upcoming"][0]
    player = [p for p in served["players"] if p.team_id in (game.home_team_id, game.away_team_id)][index]
    return {"sport": "nba", "stat": "points", "player": player.pk, "game": game.pk, "line": 14.5, **extra}


def test_anonymous_clients_get_401(api_client):
    assert api_client.post("/api/predictions/", {}, format="json").status_code == 401
    assert api_client.post("/api/predictions/batch/", [], format="json").status_code == 401
    assert api_client.get("/api/props/").status_code == 401


def test_one_prop_gets_a_distribution_edge_and_the_model_version_and_is_stored(served, user_client):
    response = user_client.post(
        "/api/predictions/", prop_for(served, over_decimal_odds=1.95, under_decimal_odds=1.87), format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["p_over"] + body["p_under"] + body["p_push"] == pytest.approx(1.0)
    assert body["p_push"] == 0.0 and body["mean"] > 0
    best = max(body["p_over"] * 1.95 - 1, body["p_under"] * 1.87 - 1)
    assert body["edge"] == pytest.approx(best) and body["side"] in ("over", "under")
    version = served["version"]
    assert body["model_version"] == {"id": version.pk, "name": "nba.points.ensemble", "version": version.version}
    stored = Prediction.objects.get(pk=body["id"])
    assert stored.model_version_id == version.pk and stored.prop_line_id is None
    assert set(stored.member_probabilities) == {"xgboost", "torch"}


def test_an_integer_line_has_a_push_probability_and_no_odds_means_no_edge(served, user_client):
    body = user_client.post("/api/predictions/", prop_for(served, line=14), format="json").json()
    assert body["p_push"] > 0 and body["edge"] is None and body["side"] is None


def test_players_and_games_can_be_named_by_external_id(served, user_client):
    game = served["upcoming"][0]
    player = next(p for p in served["players"] if p.team_id == game.home_team_id)
    response = user_client.post(
        "/api/predictions/",
        {"sport": "nba", "stat": "points", "player": player.external_id, "game": game.external_id, "line": 10.5},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["player"]["id"] == player.pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"line": "high"}, "line"),
        ({"over_decimal_odds": 0.9}, "over_decimal_odds"),
        ({"stat": "goals"}, "stat"),
        ({"player": 999999}, "player"),
        ({"game": None}, "game"),
    ],
)
def test_a_bad_prop_answers_400_naming_the_field(served, user_client, change, field):
    response = user_client.post("/api/predictions/", {**prop_for(served), **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Prediction.objects.exists()


def test_the_books_prices_move_the_price_and_are_part_of_the_cache_key(served, user_client):
    """At a line a book priced, the model's price is pooled with the book's (engine.calibration);
    without odds it is the model's own. An alternate line's long over price is not taken at
    face value, and each price pair is cached on its own."""
    own = user_client.post("/api/predictions/", prop_for(served, line=30.5), format="json").json()
    long_over = prop_for(served, line=30.5, over_decimal_odds=6.0, under_decimal_odds=1.12)
    first = user_client.post("/api/predictions/", long_over, format="json").json()
    again = user_client.post("/api/predictions/", long_over, format="json").json()
    even = user_client.post(
        "/api/predictions/", prop_for(served, line=30.5, over_decimal_odds=1.91, under_decimal_odds=1.91), format="json"
    ).json()

    assert (own["cached"], first["cached"], again["cached"], even["cached"]) == (False, False, True, False)
    assert again["p_over"] == first["p_over"] and again["id"] == first["id"]
    # A line far above the player's mean: the model's own P(over) is far below the book's
    # de-vigged 0.16; pooled, the price lies between the two. A book at even odds there pulls
    # it toward 1/2 instead.
    book = (1 / 6.0) / (1 / 6.0 + 1 / 1.12)
    assert own["mean"] == first["mean"] == even["mean"] < 20
    assert own["p_over"] < first["p_over"] < book < even["p_over"] < 0.5
    assert first["side"] == "under" and own["edge"] is None


def test_a_cached_prediction_is_never_served_for_a_new_model_version(
    served, user_client, register_models, django_capture_on_commit_callbacks
):
    first = user_client.post("/api/predictions/", prop_for(served), format="json").json()
    again = user_client.post("/api/predictions/", prop_for(served), format="json").json()
    assert (first["cached"], again["cached"]) == (False, True)
    assert again["p_over"] == first["p_over"]
    v2 = register_models()
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version_id=v2.pk, reason="test")

    after = user_client.post("/api/predictions/", prop_for(served), format="json").json()

    assert after["cached"] is False and after["model_version"]["id"] == v2.pk
    assert Prediction.objects.filter(model_version=v2).count() == 1


def test_batch_with_one_bad_item_answers_the_others_and_stores_nothing_for_it(served, user_client):
    props = [prop_for(served, index) for index in range(6)]
    props[2] = {**props[2], "player": 999999}
    props[4] = {**props[4], "line": None}

    response = user_client.post("/api/predictions/batch/", {"props": props}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["answered"], body["errors"]) == (6, 4, 2)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert results[2]["error"]["code"] == "unknown_player" and "props[2].player" in results[2]["error"]["fields"]
    assert "props[4].line" in results[4]["error"]["fields"]
    answered = [r["prediction"] for r in results if "prediction" in r]
    stored = Prediction.objects.order_by("id")
    assert [p.pk for p in stored] == sorted(a["id"] for a in answered)
    assert {p.player_id for p in stored} == {props[i]["player"] for i in (0, 1, 3, 5)}


def test_batch_over_the_limit_answers_413_with_the_limit(served, user_client):
    response = user_client.post("/api/predictions/batch/", [{}] * 10_001, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["limit"] == 10_000 and response.json()["error"]["code"] == "batch_too_large"
    assert not Prediction.objects.exists()


def test_batch_scores_many_props_in_one_model_call(served, user_client, monkeypatch):
    from predictions.serving import ServedModel

    calls = []
    original = ServedModel.score
    monkeypatch.setattr(
        ServedModel,
        "score",
        lambda self, X, lines, anchors=None: calls.append(len(X)) or original(self, X, lines, anchors),
    )
    props = [prop_for(served, index % 10, line=5.5 + index) for index in range(40)]
    body = user_client.post("/api/predictions/batch/", props, format="json").json()
    assert body["answered"] == 40 and calls == [40]


def _props_queries(client, url):
    client.get("/api/me/")  # the token is checked once per process; every later request skips it
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def test_the_props_list_carries_predictions_and_makes_a_constant_number_of_queries(served, user_client):
    from predictions import services

    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    one_player = served["players"][0].external_id
    small, small_queries = _props_queries(user_client, f"/api/props/?sport=nba&player={one_player}")
    large, large_queries = _props_queries(user_client, "/api/props/?sport=nba")

    assert small["count"] == 1 and large["count"] == 20 and len(large["results"]) == 20
    # The list's generation, the count, the page's keys, the values its rows show (props,
    # games, players), then for the rows not rendered before: the rows, their predictions and
    # those predictions' versions.
    assert small_queries == large_queries <= 9
    # Read again, nothing written since: the whole answer is kept under the list's generation
    # (a1site/core/rowcache.py PageCache): one query.
    again, again_queries = _props_queries(user_client, "/api/props/?sport=nba")
    assert again == large and again_queries == 1
    # Without the page, every row is rendered already: the generation and five queries.
    PROP_PAGES.clear()
    again, again_queries = _props_queries(user_client, "/api/props/?sport=nba")
    assert again == large and again_queries == 6
    first = large["results"][0]
    assert first["prediction"]["model_version"]["name"] == "nba.points.ensemble"
    assert first["edge"] == pytest.approx(first["prediction"]["edge"])


def test_the_props_list_filters_by_minimum_edge(served, user_client):
    from predictions import services

    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    edges = sorted(Prediction.objects.values_list("edge", flat=True))
    threshold = edges[len(edges) // 2]
    body = user_client.get(f"/api/props/?sport=nba&min_edge={threshold}&sort=-edge").json()
    returned = [item["edge"] for item in body["results"]]
    assert returned and all(edge >= threshold for edge in returned)
    assert returned == sorted(returned, reverse=True)
    assert body["count"] == sum(edge >= threshold for edge in edges)


def test_props_resolve_by_pk_external_id_and_season_with_errors_per_item():
    """The request resolver (SQL of its own, for speed) finds players and games by primary key
    or external id, MLB props by season, and names the field of each unknown one."""
    import datetime as dt

    from predictions.models import Game, Player
    from predictions.services import sports_sync_catalogue
    from predictions.services.predicting import PropRequest, prop_requests_resolve

    sports = sports_sync_catalogue()
    from predictions.models import Team

    home, away = (
        Team.objects.create(sport_id=sports["nba"], external_id=code, name=code, abbreviation=code)
        for code in ("RH", "RA")
    )
    player = Player.objects.create(sport_id=sports["nba"], external_id="R1", name="Resolve One", role="starter")
    game = Game.objects.create(
        sport_id=sports["nba"],
        external_id="RG1",
        kind="game",
        season=2026,
        date=dt.date(2026, 1, 2),
        home_team=home,
        away_team=away,
    )
    batter = Player.objects.create(sport_id=sports["mlb"], external_id="B1", name="Batter One", role="batter")
    season = Game.objects.create(
        sport_id=sports["mlb"], external_id="S2024", kind="season", season=2024, date=dt.date(2024, 3, 28)
    )
    requests = [
        PropRequest(sport="nba", stat="points", line=20.5, player=player.pk, game=game.pk),
        PropRequest(sport="nba", stat="points", line=20.5, player="R1", game="RG1"),
        PropRequest(sport="mlb", stat="home_runs", line=20.5, player="B1", season=2024),
        PropRequest(sport="nba", stat="points", line=20.5, player="nobody", game="RG1"),
        PropRequest(sport="nba", stat="points", line=20.5, player="R1", game="no-game"),
        PropRequest(sport="mlb", stat="home_runs", line=20.5, player="B1", season=1850),
        PropRequest(sport="nba", stat="points", line=20.5, player=batter.pk, game=game.pk),
    ]
    resolved, errors, players, games = prop_requests_resolve(requests)
    assert [(index, game_id, player_id) for index, _, game_id, player_id in resolved] == [
        (0, game.pk, player.pk),
        (1, game.pk, player.pk),
        (2, season.pk, batter.pk),
    ]
    assert games[game.pk]["date"] == dt.date(2026, 1, 2) and players[batter.pk]["name"] == "Batter One"
    assert {index: error["error"]["code"] for index, error in errors.items()} == {
        3: "unknown_player",
        4: "unknown_game",
        5: "unknown_season",
        6: "unknown_player",  # an MLB player's primary key is no NBA player
    }


def test_a_production_model_trained_on_other_features_is_not_served_and_says_retrain(served, user_client, monkeypatch):
    """After an upgrade that changes a sport/stat's features, the stored version's columns no
    longer line up: serving refuses it with a message naming the command that fixes it, and
    the slate skips that stat with the same reason."""
    from predictions import services, serving
    from predictions.engine import features
    from predictions.engine.features import FeatureSchema, game_schema

    upgraded = FeatureSchema.from_names((*game_schema("points").names, "a_feature_added_later"))
    monkeypatch.setattr(features, "feature_schema_for", lambda sport, stat: upgraded)
    monkeypatch.setattr(serving, "_service", None)  # a fresh process's service; restored after

    response = user_client.post("/api/predictions/", prop_for(served), format="json")

    assert response.status_code == 404, response.content
    message = response.json()["error"]["message"]
    assert "nba.points.ensemble" in message and "train_models --sport nba --stat points" in message
    game = served["upcoming"][0]
    summary = services.slate_predict(sport="nba", date=game.date)
    assert "retrain" in summary["skipped"]["points"] and summary["scored"] == 0
