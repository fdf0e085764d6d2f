import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


def test_token_endpoint_issues_a_token_that_authenticates(api_client, user, password):
    response = api_client.post("/api/auth/token/", {"username": "alice", "password": password}, format="json")
    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = api_client.get("/api/me/")
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_token_endpoint_names_the_missing_field(api_client):
    response = api_client.post("/api/auth/token/", {"username": "alice"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"password": ["This field is required."]}


def test_wrong_password_is_a_400_with_the_common_shape(api_client, user):
    response = api_client.post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "Unable to log in" in response.json()["error"]["fields"]["non_field_errors"][0]


def test_unknown_api_path_is_a_json_404(user_client):
    response = user_client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_anonymous_throttle_answers_429_with_retry_after(api_client, settings, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "1000/min", "auth": "1000/min"})
    # The token endpoint is open to anonymous clients, so it is where guessing is throttled.
    attempt = {"username": "alice", "password": "guess"}
    statuses = [api_client.post("/api/auth/token/", attempt, format="json").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    response = api_client.post("/api/auth/token/", attempt, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_user_throttle_is_per_user(user_client, other_client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "1000/min", "user": "2/min", "auth": "1000/min"})
    assert [user_client.get("/api/jobs/").status_code for _ in range(3)] == [200, 200, 429]
    assert other_client.get("/api/jobs/").status_code == 200


def test_token_guessing_is_throttled_per_address(api_client, user, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "1000/min", "user": "1000/min", "auth": "2/min"})
    attempt = {"username": "alice", "password": "guess"}
    assert [api_client.post("/api/auth/token/", attempt, format="json").status_code for _ in range(3)] == [
        400,
        400,
        429,
    ]


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "openapi: 3" in text and "/api/jobs/{id}/" in text and "/api/auth/token/" in text
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI is vendored (drf-spectacular-sidecar): nothing loads from a CDN.
    assert "cdn" not in docs.content.decode().lower()


def test_a_checked_token_is_remembered_without_a_query(user_client):
    assert user_client.get("/api/jobs/").status_code == 200
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert user_client.get("/api/jobs/").status_code == 200
    assert not any("authtoken_token" in query["sql"] for query in queries.captured_queries)


def test_a_deleted_token_or_deactivated_user_is_refused_at_once(user, user_client):
    from rest_framework.authtoken.models import Token

    assert user_client.get("/api/jobs/").status_code == 200  # the key is now remembered
    user.is_active = False
    user.save()
    assert user_client.get("/api/jobs/").status_code == 401
    user.is_active = True
    user.save()
    assert user_client.get("/api/jobs/").status_code == 200
    Token.objects.filter(user=user).delete()
    assert user_client.get("/api/jobs/").status_code == 401


def test_the_token_cache_can_be_turned_off(user, user_client, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.AUTH_TOKEN_CACHE_S = 0
    user_client.get("/api/jobs/")
    with CaptureQueriesContext(connection) as queries:
        assert user_client.get("/api/jobs/").status_code == 200
    assert any("authtoken_token" in query["sql"] for query in queries.captured_queries)


def test_a_token_looked_up_is_the_row_drf_reads(user, user_client):
    """The one-query lookup (``TokenLookup``) gives the token and user DRF's
    ``select_related("user").get(key=...)`` gives, field for field, the user already attached."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from a1site.accounts.authentication import look_up

    expected = Token.objects.select_related("user").get(user=user)
    with CaptureQueriesContext(connection) as queries:
        found_user, found_token = look_up(expected.key)
        assert found_token.user is found_user and found_user.username == user.username
    assert len(queries.captured_queries) == 1
    for model_fields, got, want in (
        (Token._meta.concrete_fields, found_token, expected),
        (type(user)._meta.concrete_fields, found_user, expected.user),
    ):
        assert {f.attname: getattr(got, f.attname) for f in model_fields} == {
            f.attname: getattr(want, f.attname) for f in model_fields
        }
    assert found_user._state.db == "default" and not found_user._state.adding
    assert look_up("0" * 40) is None


def test_an_unknown_token_or_an_inactive_user_is_refused_with_drfs_message(user, user_client, api_client):
    from rest_framework.authtoken.models import Token

    api_client.credentials(HTTP_AUTHORIZATION="Token " + "f" * 40)
    refused = api_client.get("/api/jobs/")
    assert refused.status_code == 401 and "Invalid token." in refused.content.decode()
    user.is_active = False
    user.save()
    api_client.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.get(user=user).key)
    refused = api_client.get("/api/jobs/")
    assert refused.status_code == 401 and "User inactive or deleted." in refused.content.decode()
