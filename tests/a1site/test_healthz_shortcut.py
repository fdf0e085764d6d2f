"""/healthz is answered by the event loop, never behind requests that hold Django's threads."""

import asyncio
import threading
import time

from a1site.core.health_asgi import HealthzShortcut
from a1site.core.wsgi_bridge import WSGIBridge


def _scope(path):
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver")], "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
    }  # fmt: skip


async def _get(app, path):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(_scope(path), receive, send)
    return sent


def test_healthz_answers_while_the_only_django_thread_is_busy():
    release = threading.Event()

    def slow_django(environ, start_response):
        release.wait(5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slow"]

    app = HealthzShortcut(WSGIBridge(slow_django, threads=1))

    async def scenario():
        slow = asyncio.create_task(_get(app, "/api/props/"))
        await asyncio.sleep(0.05)  # the slow request now holds the one thread
        started = time.perf_counter()
        health = await _get(app, "/healthz")
        elapsed = time.perf_counter() - started
        release.set()
        await slow
        return health, elapsed

    health, elapsed = asyncio.run(scenario())
    assert health[0]["status"] == 200
    assert health[1]["body"] == b'{"status":"ok"}'
    assert (b"cache-control", b"no-store") in health[0]["headers"]
    assert elapsed < 0.5


def test_other_paths_go_to_django():
    def django(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    sent = asyncio.run(_get(HealthzShortcut(WSGIBridge(django)), "/healthz/extra"))
    assert sent[1]["body"] == b"/healthz/extra"


def test_the_servers_application_answers_healthz_on_the_event_loop():
    from a1site.asgi import application

    assert isinstance(application.application_mapping["http"], HealthzShortcut)
    sent = asyncio.run(_get(application, "/healthz"))
    assert sent[0]["status"] == 200 and sent[1]["body"] == b'{"status":"ok"}'
