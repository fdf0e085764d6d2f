"""The schema says what the API answers; under /api/ every error is the JSON error shape."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/?format=json").json()


def test_every_operation_documents_the_error_shape(schema):
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status in ("400", "401", "403", "404", "429"):
                assert status in operation["responses"], (method, path, status)


def test_feed_answers_are_documented_as_they_are(schema):
    odds_get = schema["paths"]["/api/odds/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert odds_get["$ref"].endswith("/OddsTickList")
    assert schema["components"]["schemas"]["OddsTickList"]["properties"]["results"]["type"] == "array"
    for path, name in (("/api/odds/", "OddsIngested"), ("/api/games/events/", "GameEventsIngested")):
        created = schema["paths"][path]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
        assert created["$ref"].endswith(name)
        assert "ingested" in schema["components"]["schemas"][name]["properties"]


def test_who_created_or_activated_a_model_version_may_be_null(schema):
    properties = schema["components"]["schemas"]["ModelVersion"]["properties"]
    assert properties["created_by"]["nullable"] and properties["activated_by"]["nullable"]


def test_prediction_endpoints_take_json_only_and_player_is_an_id_or_external_id(schema):
    for path in ("/api/predictions/", "/api/predictions/batch/"):
        assert list(schema["paths"][path]["post"]["requestBody"]["content"]) == ["application/json"]
    player = schema["components"]["schemas"]["PropRequest"]["properties"]["player"]
    assert {option["type"] for option in player["oneOf"]} == {"integer", "string"}


@pytest.mark.parametrize("debug", [False, True])
def test_an_unmatched_api_url_is_a_json_404_in_every_mode(user_client, debug):
    with override_settings(DEBUG=debug):
        response = user_client.get("/api/no/such/route/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_exclusive_bounds_are_written_as_openapi_3_0_says(schema):
    """OpenAPI 3.0 (drf-spectacular's output) takes exclusiveMinimum/Maximum as booleans beside
    minimum/maximum; a number there makes the schema invalid for generators and validators."""
    assert schema["openapi"].startswith("3.0")
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("exclusiveMinimum", "exclusiveMaximum"):
                if key in node:
                    found.append(node)
                    assert node[key] is True or node[key] is False, node
                    assert ("minimum" if key == "exclusiveMinimum" else "maximum") in node, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert found, "the prop request's decimal odds have an exclusive lower bound"
