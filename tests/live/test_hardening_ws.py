"""/ws/ refuses malformed tokens with 4401 (not a dropped connection)."""

from __future__ import annotations

import pytest

from live.engine.protocol import CLOSE_UNAUTHENTICATED

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("token", ["\ud800", "abc\x00def", "%ED%A0%80", "ab cd"])
async def test_a_token_no_database_could_hold_closes_4401_in_the_auth_message(connect, token):
    client = await connect(welcome=False)
    await client.send({"type": "auth", "token": token})
    error = await client.receive()
    assert error["code"] == "auth_failed"
    assert await client.closed_with() == CLOSE_UNAUTHENTICATED


def test_the_api_refuses_such_a_token_with_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token abc\x7f")
    response = api_client.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize("query_token", ["%ED%A0%80", "%00", "%FF%FE"])
async def test_a_malformed_token_in_the_query_closes_4401(connect, query_token):
    client = await connect(token=query_token, welcome=False)
    assert await client.closed_with() == CLOSE_UNAUTHENTICATED


async def _open(path: str, headers: list):
    from channels.testing import WebsocketCommunicator

    from a1site.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=[(b"host", b"testserver"), *headers])
    connected, code = await communicator.connect(timeout=2)
    return communicator, connected, code


async def _session_cookie(user, password) -> bytes:
    from asgiref.sync import sync_to_async
    from django.test import Client

    browser = Client()
    await sync_to_async(browser.login)(username=user.username, password=password)
    return f"sessionid={browser.cookies['sessionid'].value}".encode()


async def test_a_token_client_without_origin_is_welcomed(user, token_for):
    from asgiref.sync import sync_to_async

    communicator, connected, _ = await _open(f"/ws/?token={await sync_to_async(token_for)(user)}", [])
    assert connected
    welcome = await communicator.receive_json_from(timeout=2)
    assert welcome[0]["type"] == "welcome" and welcome[0]["user"] == user.username
    await communicator.disconnect()


async def test_a_session_cookie_without_origin_does_not_authenticate(user, password):
    communicator, connected, _ = await _open("/ws/", [(b"cookie", await _session_cookie(user, password))])
    assert connected
    await communicator.send_json_to({"type": "subscribe", "topics": ["odds.nba"]})
    reply = await communicator.receive_json_from(timeout=2)
    assert reply[0]["code"] == "auth_required"
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused_even_with_a_session(user, password):
    cookie = await _session_cookie(user, password)
    _, connected, _ = await _open("/ws/", [(b"origin", b"https://evil.example"), (b"cookie", cookie)])
    assert not connected


async def test_a_browser_on_the_site_keeps_its_session(user, password):
    cookie = await _session_cookie(user, password)
    communicator, connected, _ = await _open("/ws/", [(b"origin", b"http://testserver"), (b"cookie", cookie)])
    assert connected
    assert (await communicator.receive_json_from(timeout=2))[0]["type"] == "welcome"
    await communicator.disconnect()
