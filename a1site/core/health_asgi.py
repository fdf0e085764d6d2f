"""``GET /healthz`` answered in the ASGI layer, on the event loop.

Django's views run in ``A1_HTTP_THREADS`` worker threads (two by default). When they were
one, with 50 clients reading lists, ``/healthz`` waited 1.4 s behind them, and one 4-second
request stalled it, so an orchestrator could restart a process that was only busy. Liveness means "this process's
event loop answers", which this checks without queueing behind Django. Readiness (database,
cache, broker) stays a Django view: ``/readyz``.
"""

from __future__ import annotations

HEALTHZ_PATH = "/healthz"
_BODY = b'{"status":"ok"}'
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_BODY)).encode()),
    (b"cache-control", b"no-store"),
]


class HealthzShortcut:
    """Answers ``GET``/``HEAD /healthz`` itself; every other request goes to ``application``."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == HEALTHZ_PATH and scope["method"] in ("GET", "HEAD"):
            await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else _BODY})
            return
        await self.application(scope, receive, send)
