"""/metrics answers Prometheus only with its bearer token or from an allowed address."""

import pytest

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.5"


def test_metrics_from_another_address_without_a_token_is_a_401_in_the_error_shape(client):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json()["error"]["code"] == "not_authenticated"
    assert b"django_http" not in response.content


def test_a_forwarded_loopback_address_does_not_open_metrics(client):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 401


def test_metrics_with_the_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert response.status_code == 200
    assert b"# TYPE a1_jobs_total counter" in response.content


def test_metrics_from_loopback_or_an_allowed_network(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401


def test_a_user_session_does_not_open_metrics(client, user, password):
    client.login(username=user.username, password=password)
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 401
