"""The ASGI → WSGI bridge that serves Django's HTTP side: body in, buffered or streamed out."""

import asyncio

import orjson
import pytest

from a1site.core.wsgi_bridge import WSGIBridge


def _scope(method="GET", path="/", body=b""):
    headers = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }


def _call(app, scope, chunks=(b"",)):
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


class _Streaming:
    streaming = True

    def __init__(self):
        self.closed = False

    def __iter__(self):
        yield b"a"
        yield b""
        yield b"bc"

    def close(self):
        self.closed = True


def test_a_body_in_chunks_reaches_the_app_and_a_buffered_answer_is_one_message():
    seen = {}

    def app(environ, start_response):
        seen["body"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        seen["method"] = environ["REQUEST_METHOD"]
        start_response("201 Created", [("Content-Type", "application/json"), ("X-Thing", "1")])
        return [b'{"ok":', b"true}"]

    sent = _call(WSGIBridge(app), _scope("POST", "/x", b'{"a": 1}'), chunks=(b'{"a"', b": 1}"))
    assert seen == {"body": b'{"a": 1}', "method": "POST"}
    assert sent[0]["status"] == 201 and (b"x-thing", b"1") in sent[0]["headers"]
    assert sent[1:] == [{"type": "http.response.body", "body": b'{"ok":true}'}]


def test_a_streaming_answer_goes_out_chunk_by_chunk_and_is_closed():
    response = _Streaming()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return response

    sent = _call(WSGIBridge(app), _scope())
    assert [m.get("body") for m in sent[1:]] == [b"a", b"bc", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, False]
    assert response.closed


def test_a_client_gone_before_its_body_arrived_runs_nothing():
    calls = []
    app = WSGIBridge(lambda environ, start_response: calls.append(1) or [])

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        raise AssertionError("nothing is sent")

    asyncio.run(app(_scope("POST", "/x", b"{}"), receive, send))
    assert calls == []


@pytest.mark.django_db
def test_django_behind_the_bridge_answers_api_json_and_streams_static_files():
    from a1site.asgi import application

    http = application.application_mapping["http"]
    health = _call(http, _scope(path="/healthz"))
    assert health[0]["status"] == 200 and b"ok" in health[1]["body"].lower()
    denied = _call(http, _scope(path="/api/props/"))
    assert denied[0]["status"] == 401 and b'"error"' in denied[1]["body"]
    static = _call(http, _scope(path="/static/live/live.js"))
    assert static[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in static[1:]).startswith(b"/")


def _timed_calls(app, paths: list[str]) -> dict[str, float]:
    """Start a request per path at once; seconds until each answered."""

    async def one(path):
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            pass

        started = asyncio.get_running_loop().time()
        await app(_scope(path=path), receive, send)
        return path, asyncio.get_running_loop().time() - started

    async def all_of_them():
        return dict(await asyncio.gather(*(one(path) for path in paths)))

    return asyncio.run(all_of_them())


def _slow_and_fast_app(environ, start_response):
    import time

    if environ["PATH_INFO"] == "/slow":
        time.sleep(1.0)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_a_slow_request_does_not_hold_up_the_others_with_the_default_threads(settings):
    """One 4-second request stalled every other request of `make run` (issue: many users at
    once): Django's views now run in A1_HTTP_THREADS threads per process."""
    assert settings.A1_HTTP_THREADS >= 2
    took = _timed_calls(WSGIBridge(_slow_and_fast_app, threads=settings.A1_HTTP_THREADS), ["/slow", "/fast", "/fast2"])
    assert took["/slow"] >= 1.0
    assert took["/fast"] < 0.5 and took["/fast2"] < 0.5, took
    # With one thread (the old default) the fast ones queue behind it: what the test guards.
    took = _timed_calls(WSGIBridge(_slow_and_fast_app, threads=1), ["/slow", "/fast"])
    assert took["/fast"] >= 1.0, took


def _answers(app, paths: list[str]) -> dict[str, tuple[int, dict, bytes]]:
    """Start a request per path, each a little after the one before (so they queue in that
    order); each path's status, headers and body."""

    async def one(path, delay):
        await asyncio.sleep(delay)
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app(_scope(path=path), receive, send)
        return path, (sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:]))

    async def all_of_them():
        return dict(await asyncio.gather(*(one(path, 0.05 * k) for k, path in enumerate(paths))))

    return asyncio.run(all_of_them())


def test_a_request_that_waited_too_long_for_a_thread_is_answered_503_and_not_run():
    """Overload: a request queued behind others for longer than the queue timeout is refused
    with Retry-After instead of run (its client has most likely given up)."""
    ran = []

    def app(environ, start_response):
        ran.append(environ["PATH_INFO"])
        return _slow_and_fast_app(environ, start_response)

    answers = _answers(WSGIBridge(app, threads=1, queue_timeout_s=0.3), ["/slow", "/api/jobs/1/", "/predictions/"])
    assert ran == ["/slow"]
    assert answers["/slow"][0] == 200
    status, headers, body = answers["/api/jobs/1/"]
    assert status == 503 and headers[b"retry-after"] == b"5" and headers[b"content-type"] == b"application/json"
    error = orjson.loads(body)["error"]
    assert (
        error["code"] == "overloaded" and "waited" in error["message"] and "Try again in 5 seconds" in error["message"]
    )
    status, headers, body = answers["/predictions/"]
    assert status == 503 and headers[b"content-type"].startswith(b"text/plain") and b"too busy" in body
    assert int(headers[b"content-length"]) == len(body)


def test_a_request_that_waited_less_than_the_queue_timeout_runs_and_0_never_sheds():
    ran = []

    def app(environ, start_response):
        ran.append(environ["PATH_INFO"])
        return _slow_and_fast_app(environ, start_response)

    answers = _answers(WSGIBridge(app, threads=1, queue_timeout_s=5), ["/slow", "/fast"])
    assert ran == ["/slow", "/fast"] and answers["/fast"][0] == 200
    ran.clear()
    answers = _answers(WSGIBridge(app, threads=1, queue_timeout_s=0), ["/slow", "/fast"])
    assert ran == ["/slow", "/fast"] and answers["/fast"][0] == 200


def test_the_served_bridge_sheds_after_the_configured_queue_timeout(settings):
    from a1site import asgi

    bridge = asgi.application.application_mapping["http"].application
    assert isinstance(bridge, WSGIBridge)
    assert bridge.queue_timeout_s == settings.A1_QUEUE_TIMEOUT_S == 10.0
