"""Hostile JSON bodies answer 400 in the error shape, naming where, on every JSON endpoint."""

import pytest

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("api_client", "/api/auth/token/"),
    ("user_client", "/api/predictions/"),
    ("user_client", "/api/predictions/batch/"),
    ("staff_client", "/api/odds/"),
    ("staff_client", "/api/games/events/"),
    ("staff_client", "/api/import/players/"),
]


def _post(request, client_fixture, path, raw: str):
    client = request.getfixturevalue(client_fixture)
    return client.post(path, data=raw.encode("utf-8"), content_type="application/json")


@pytest.mark.parametrize(("client_fixture", "path"), ENDPOINTS)
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting_is_a_client_error_not_a_500(request, client_fixture, path, depth):
    response = _post(request, client_fixture, path, "[" * depth + "]" * depth)
    body = response.json()
    if path == "/api/predictions/batch/" and depth < 1024:
        # Parsed (orjson takes up to 1,024 levels): the batch answers the one item's error.
        assert response.status_code == 200
        assert body["errors"] == 1 and body["results"][0]["error"]["code"] == "invalid"
    else:
        assert response.status_code == 400, response.content[:300]
        assert set(body["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize(("client_fixture", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ('{"player": "\\ud800", "name": "x"}', "player", "surrogate"),
        ('{"player": "Ann\\u0000", "name": "x"}', "player", "NUL"),
        ('{"player": 9223372036854775808}', "player", "between"),
        ('{"player": -9223372036854775809}', "player", "between"),
        ('{"props": [{"player": 1}, {"player": 18446744073709551616}]}', "props[1].player", "between"),
        ('[{"name": "ok"}, {"name": "\\udfff"}]', "[1].name", "surrogate"),
        ('{"ticks": [{"detail": {"\\u0000": 1}}]}', "ticks[0].detail.\\u0000", "NUL"),
    ],
)
def test_values_no_store_can_hold_are_a_400_naming_the_path(request, client_fixture, path, raw, field, words):
    response = _post(request, client_fixture, path, raw)
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert words in error["fields"][field][0]


def test_largest_64_bit_integer_still_parses(user_client):
    response = user_client.post(
        "/api/predictions/", data=b'{"player": 9223372036854775807}', content_type="application/json"
    )
    assert response.status_code in (400, 404)
    assert "between" not in response.content.decode()


def test_a_json_body_is_what_the_api_parses(user_client):
    response = user_client.post(
        "/api/predictions/", data="player=1&stat=points", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
