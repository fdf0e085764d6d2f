"""The site works on stock uvicorn: ``A1_WS_FAST_PATH=false`` (a1site.serve without
a1site.ws_fast's private hooks) and uvicorn's own command line. Pages, the API and a WebSocket
subscribe → publish → deliver round trip through real server processes sharing Redis."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from live import publish
from live.backends import reset_broker
from tests.services.live.test_live_servers import open_stream

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

STOCK = {
    "a1site.serve, A1_WS_FAST_PATH=false": ({"A1_WS_FAST_PATH": "false"}, "a1site.serve"),
    "uvicorn a1site.asgi:application": ({}, "uvicorn"),
}


@pytest.fixture(autouse=True)
def redis_broker():
    reset_broker()  # this process publishes through this test's REDIS_URL
    yield
    reset_broker()


@pytest.fixture
def token(make_user) -> str:
    return Token.objects.create(user=make_user("alice")).key


def http_get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Token {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=15) as response:
        return response.status, response.read().decode()


@pytest.mark.parametrize("how", list(STOCK))
async def test_pages_api_and_a_live_round_trip_work_on_stock_uvicorn(asgi_server, token, how):
    extra_env, command = STOCK[how]
    server = asgi_server(extra_env, command=command)

    status, page = await asyncio.to_thread(http_get, f"{server.url}/accounts/login/")
    assert status == 200 and "<form" in page
    status, body = await asyncio.to_thread(http_get, f"{server.url}/api/me/", token)
    assert status == 200 and json.loads(body)["username"] == "alice"

    client = await open_stream(server, token)
    # Stock permessage-deflate: none of the fast path's small-state parameters.
    extensions = client.ws.response.headers.get("Sec-WebSocket-Extensions", "")
    assert "server_max_window_bits=11" not in extensions
    await client.ws.send(json.dumps({"type": "subscribe", "topics": ["games.g9"], "id": 7}))
    subscribed = await client.receive_type("subscribed")
    assert subscribed["id"] == 7
    seq = await asyncio.to_thread(publish, "games.g9", "game.score", {"home_score": 3, "note": "x" * 300})
    message = await client.receive_type("game.score")
    assert message["seq"] == seq == subscribed["topics"]["games.g9"] + 1
    assert message["data"] == {"home_score": 3, "note": "x" * 300}
    # The bare heartbeat takes the ordinary ASGI receive here (no shortcut offered).
    await client.ws.send('{"type":"ping"}')
    assert await client.receive_type("pong") == {"type": "pong"}
    await client.ws.close()


async def test_the_default_server_uses_the_fast_path(asgi_server, token):
    client = await open_stream(asgi_server(), token)
    assert "server_max_window_bits=11" in client.ws.response.headers["Sec-WebSocket-Extensions"]
    await client.ws.close()
