import json
import logging

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_and_readyz_in_embedded_mode(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


def test_readyz_names_the_failed_dependency(client, monkeypatch):
    from a1site.core import health

    monkeypatch.setitem(health.CHECKS, "cache", lambda: "ConnectionError: refused")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]


def test_metrics_in_prometheus_format(client, user_client):
    user_client.get("/api/jobs/")
    body = client.get("/metrics").content.decode()
    assert "django_http_requests_total_by_view_transport_method_total" in body
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in body
    assert "# TYPE a1_jobs_total counter" in body
    assert "# TYPE a1_model_loads_total counter" in body


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces\n")["X-Request-ID"]
    assert len(generated) == 32 and " " not in generated


def test_log_lines_are_json_with_the_request_id(client):
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    from a1site.core.logging import RequestIdFilter

    records = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    config = settings.LOGGING["formatters"]["json"]
    handler = Capture()
    handler.setFormatter(JsonFormatter(config["fmt"], rename_fields=config["rename_fields"]))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get("/api/does-not-exist/", HTTP_X_REQUEST_ID="trace-42")
    finally:
        logger.removeHandler(handler)
    line = json.loads(records[-1])
    assert line["request_id"] == "trace-42"
    assert line["level"] == "WARNING" and "Not Found" in line["message"]
