"""Bodies over the limit are refused with 413 before they are read whole (the WSGI bridge)."""

import asyncio
import json

import pytest

from a1site.core.wsgi_bridge import WSGIBridge

LIMIT = 1000


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.A1_MAX_BODY_BYTES = LIMIT
    settings.A1_MAX_UPLOAD_BYTES = 10 * LIMIT


def _scope(path, *, declared: int | None):
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
        "server": ("testserver", 80), "client": ("203.0.113.5", 5000),
    }  # fmt: skip


def _serve(path, *, declared, chunks: int, chunk_size: int = 100):
    """Offer ``chunks`` chunks; return (answers sent, chunks read, whether Django ran)."""
    ran, read, sent = [], [0], []

    def app(environ, start_response):
        ran.append(environ["wsgi.input"].read())
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    async def receive():
        read[0] += 1
        return {"type": "http.request", "body": b"x" * chunk_size, "more_body": read[0] < chunks}

    async def send(message):
        sent.append(message)

    asyncio.run(WSGIBridge(app)(_scope(path, declared=declared), receive, send))
    return sent, read[0], bool(ran)


def _assert_413(sent, limit):
    assert sent[0]["status"] == 413
    body = json.loads(sent[1]["body"])
    assert body["error"]["code"] == "body_too_large"
    assert body["error"]["limit"] == limit


def test_a_declared_length_over_the_limit_is_refused_before_reading_a_byte():
    sent, read, ran = _serve("/api/auth/token/", declared=200_000_000, chunks=2_000_000)
    _assert_413(sent, LIMIT)
    assert read == 0 and not ran


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit():
    sent, read, ran = _serve("/api/predictions/batch/", declared=None, chunks=2_000_000)
    _assert_413(sent, LIMIT)
    assert read == LIMIT // 100 + 1 and not ran


def test_a_body_within_the_limit_reaches_django():
    sent, read, ran = _serve("/api/predictions/", declared=LIMIT, chunks=LIMIT // 100)
    assert sent[0]["status"] == 200 and ran


def test_imports_have_their_own_larger_limit():
    sent, _, ran = _serve("/api/import/stat-lines/", declared=None, chunks=50)
    assert sent[0]["status"] == 200 and ran
    sent, _, ran = _serve("/api/import/stat-lines/", declared=None, chunks=2_000)
    _assert_413(sent, 10 * LIMIT)
    assert not ran


@pytest.mark.django_db
def test_a_batch_over_its_item_limit_is_413_whatever_its_size(user_client):
    from predictions import services

    small = [{}] * (services.PREDICTION_BATCH_LIMIT + 1)
    response = user_client.post("/api/predictions/batch/", {"props": small}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
