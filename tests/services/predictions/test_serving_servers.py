"""Two real ASGI servers on PostgreSQL and Redis: an activation made elsewhere switches both."""

import json
import urllib.request

import pytest
from django.db import transaction
from rest_framework.authtoken.models import Token

from a1site.registry.services import model_version_activate
from tests.predictions.conftest import (  # noqa: F401 - fixtures
    _fresh_inference_service,
    _media,
    mini_league,
    nba_points_training,
    register_models,
    served,
)
from tests.support import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _predict(server, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server.url}/api/predictions/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_activation_in_one_process_switches_serving_in_every_server(served, register_models, user, asgi_server):  # noqa: F811
    token = Token.objects.create(user=user).key
    game = served["upcoming"][0]
    player = next(p for p in served["players"] if p.team_id == game.home_team_id)
    body = {"sport": "nba", "stat": "points", "player": player.pk, "game": game.pk, "line": 12.5}
    servers = [asgi_server({"PREDICTIONS_SERVING_CHECK_MS": "100"}) for _ in range(2)]
    v1 = served["version"]
    for server in servers:
        answer = _predict(server, token, body)
        assert answer["model_version"]["id"] == v1.pk
    v2 = register_models()

    with transaction.atomic():
        model_version_activate(version_id=v2.pk, reason="service test")

    answers = [
        wait_until(
            lambda server=server: (a := _predict(server, token, body))["model_version"]["id"] == v2.pk and a,
            timeout=10,
            interval=0.2,
            what="the server to serve v2",
        )
        for server in servers
    ]
    # The first v2 answer is computed; the cache (Redis) is shared, so the second server may reuse it.
    assert answers[0]["cached"] is False
    assert answers[1]["p_over"] == answers[0]["p_over"]
