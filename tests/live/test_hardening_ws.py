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
