"""Django's WSGI application under the ASGI server, with one thread hop per request.

Why not a library: a2wsgi (which this replaced) and asgiref's ``WsgiToAsgi`` run the WSGI app
in a worker thread and cross back to the event loop for every ASGI message: the body read,
the response start, each body chunk and the end, each a round trip through
``run_coroutine_threadsafe`` (four or five per POST). Django's ``ASGIHandler`` is worse for
A1's all-sync views (``a1site/asgi.py``). Here the loop reads the whole body first (spooled
to disk above ``FILE_UPLOAD_MAX_MEMORY_SIZE``, as Django's ASGI handler does), one call in the
worker thread runs Django and collects a buffered response (closing it there, so
``request_finished`` tidies the database connection as usual), and the loop writes it. Only
a streaming response (static files, CSV downloads) goes back to the thread per chunk.
The WSGI environ is a2wsgi's ``build_environ``.

Bodies are bounded before Django sees them: ``A1_MAX_BODY_BYTES`` (imports under
``A1_UPLOAD_PATHS``: ``A1_MAX_UPLOAD_BYTES``). A declared ``Content-Length`` over the limit is
answered 413 before a byte is read; a chunked body as soon as it passes the limit (it was
spooled whole before: 200 MB from an anonymous client, then refused).

Overload: a request that waited in the process' queue for a free thread longer than
``A1_QUEUE_TIMEOUT_S`` is not run; it is answered 503 with ``Retry-After`` (the JSON error
shape under ``/api/``). A client has usually given up by then, and running its request only
makes every later one wait longer: in the 10,000-user bench the workers went on serving
requests whose users had left, for as long as the load lasted and minutes after it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
from a2wsgi.wsgi import build_environ
from django.conf import settings

from .errors import error_body
from .metrics import SHED

logger = logging.getLogger(__name__)

_DONE = object()
RETRY_AFTER_S = 5


class WSGIBridge:
    """An ASGI ``http`` app that runs ``wsgi_app`` in ``threads`` worker threads; a request
    that waited over ``queue_timeout_s`` for one is answered 503 instead (0: never)."""

    def __init__(self, wsgi_app, *, threads: int = 1, queue_timeout_s: float = 0.0) -> None:
        self.wsgi_app = wsgi_app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")
        self.queue_timeout_s = queue_timeout_s

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"WSGIBridge serves http, not {scope['type']!r}")
        limit = body_limit(scope["path"])
        if _declared_length(scope) > limit:
            await _too_large(send, limit)
            return
        with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b") as body:
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await _too_large(send, limit)
                    return
                body.write(chunk)
                if not message.get("more_body", False):
                    break
            body.seek(0)
            loop = asyncio.get_running_loop()
            environ = build_environ(scope, body)
            status, headers, content, iterator = await self._in_thread(loop, self._respond, environ, time.monotonic())
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if iterator is None:
                await send({"type": "http.response.body", "body": content})
                return
            try:
                while (chunk := await self._in_thread(loop, next, iterator, _DONE)) is not _DONE:
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                await self._in_thread(loop, _close, iterator)

    def _in_thread(self, loop, function, *args):
        # The caller's context (request id, etc.) goes with the call, as run_in_executor does not.
        return loop.run_in_executor(self.executor, functools.partial(contextvars.copy_context().run, function, *args))

    def _respond(self, environ, queued_at: float) -> tuple[int, list, bytes, object]:
        """Run Django: (status, headers, whole body, None), or (status, headers, b"", the
        response iterator) when the response streams; 503 if it waited too long to start."""
        waited = time.monotonic() - queued_at
        if self.queue_timeout_s and waited > self.queue_timeout_s:
            SHED.inc()
            return *_overloaded(environ["PATH_INFO"], waited), None
        started: list = []

        def start_response(status, response_headers, exc_info=None):
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, response_headers]
            return _no_write

        iterable = self.wsgi_app(environ, start_response)
        status = int(started[0].split(" ", 1)[0])
        headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in started[1]]
        if getattr(iterable, "streaming", False):
            return status, headers, b"", _Closing(iterable)
        try:
            return status, headers, b"".join(iterable), None
        finally:
            _close(iterable)


def body_limit(path: str) -> int:
    if any(path.startswith(prefix) for prefix in settings.A1_UPLOAD_PATHS):
        return settings.A1_MAX_UPLOAD_BYTES
    return settings.A1_MAX_BODY_BYTES


def _declared_length(scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # not a number: the server's HTTP parser refuses it; the read below still counts
    return 0


async def _too_large(send, limit: int) -> None:
    body = error_body(
        code="body_too_large",
        message=f"The request body is larger than this endpoint takes ({limit:,} bytes).",
    )
    body["error"]["limit"] = limit
    content = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _overloaded(path: str, waited: float) -> tuple[int, list, bytes]:
    """503 for a request that waited ``waited`` seconds for a thread: the JSON error shape
    under /api/, a line of text elsewhere; ``Retry-After`` either way."""
    message = (
        f"The server is too busy: this request waited {waited:.1f} s for its turn and was not run. "
        f"Try again in {RETRY_AFTER_S} seconds."
    )
    if path.startswith("/api/"):
        content, kind = orjson.dumps(error_body(code="overloaded", message=message)), b"application/json"
    else:
        content, kind = message.encode(), b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(content)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
        (b"cache-control", b"no-store"),
    ]
    return 503, headers, content


class _Closing:
    """A streaming response's iterator that remembers the response, to close it after the
    last chunk (``request_finished``)."""

    def __init__(self, response) -> None:
        self.response = response
        self.iterator = iter(response)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.iterator)

    def close(self) -> None:
        _close(self.response)


def _close(iterator) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            logger.exception("closing a streamed response failed", exc_info=sys.exc_info())


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the WSGI write() callable is not supported; return an iterable")
