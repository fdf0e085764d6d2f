"""Start the ASGI server: ``python -m a1site.serve --host 0.0.0.0 --port 8000 --workers 4``.

uvicorn serving ``a1site.asgi:application``, started here rather than by uvicorn's CLI for two
WebSocket choices:

- **The fast path** (``A1_WS_FAST_PATH``, default true): uvicorn gets
  ``ws="a1site.ws_fast:LiveWebSocketProtocol"``, uvicorn's websockets-sansio protocol with a
  smaller permessage-deflate state, small frames uncompressed, a synchronous send and a
  heartbeat shortcut for the live consumer, and tuned garbage collection (each measured in
  bench/live.py; see a1site/ws_fast.py). It relies on uvicorn's and websockets' private
  internals, so pyproject.toml bounds both to the versions tested. ``A1_WS_FAST_PATH=false``
  serves with stock uvicorn (its default ``ws="auto"``): the site works the same (the live
  consumer falls back to the ASGI send), each connection costs more memory and CPU, and
  ``a1site.ws_fast`` is never imported, so a uvicorn upgrade that moves its internals does not
  stop this mode. The same holds for ``uvicorn a1site.asgi:application`` itself.
- **One heartbeat.** The live protocol has its own: clients ping every ``LIVE_HEARTBEAT_S`` and
  one sweep per process closes a connection silent for ``LIVE_IDLE_TIMEOUT_S`` (4408), which
  is how dead peers are found. uvicorn's protocol pings (every 20 s by default, one timer and
  one ping/pong per connection) would be a second mechanism doing the same job, so they are off
  unless ``--ws-ping-interval`` asks for them (e.g. behind a proxy that needs server traffic).

``A1_WS_FAST_PATH`` is read from the environment only (not from ``.env``): the server decides
it before Django's settings load.
"""

from __future__ import annotations

import argparse

import environ
import uvicorn

APP = "a1site.asgi:application"
# An import string, so uvicorn imports the private-hooks module only when the fast path is on.
FAST_WS_PROTOCOL = "a1site.ws_fast:LiveWebSocketProtocol"
STOCK_WS_PROTOCOL = "auto"


def ws_protocol(*, fast_path: bool) -> str:
    return FAST_WS_PROTOCOL if fast_path else STOCK_WS_PROTOCOL


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve A1 (HTTP and /ws/) with uvicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument(
        "--timeout-keep-alive",
        type=float,
        default=5.0,
        help="seconds an idle HTTP connection is kept open (uvicorn's default 5; clients that "
        "send every 20 s and keep their connection need more)",
    )
    parser.add_argument("--no-ws-per-message-deflate", dest="deflate", action="store_false")
    parser.add_argument(
        "--ws-ping-interval", type=float, default=None, help="protocol pings (off: the app heartbeat finds dead peers)"
    )
    args = parser.parse_args(argv)
    uvicorn.run(
        APP,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        backlog=args.backlog,
        timeout_keep_alive=args.timeout_keep_alive,
        ws=ws_protocol(fast_path=environ.Env().bool("A1_WS_FAST_PATH", default=True)),
        ws_per_message_deflate=args.deflate,
        ws_ping_interval=args.ws_ping_interval,
        ws_ping_timeout=args.ws_ping_interval,
    )


if __name__ == "__main__":
    main()
