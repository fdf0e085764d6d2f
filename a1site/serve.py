"""Start the ASGI server: ``python -m a1site.serve --host 0.0.0.0 --port 8000 --workers 4``.

uvicorn, started programmatically because two of its WebSocket settings need changing and its
CLI cannot express one of them (``--ws`` takes a name, not a class):

- **permessage-deflate state.** uvicorn's websockets-sansio protocol keeps a zlib compressor
  (window 12 bits, memLevel 5) and a decompressor alive for every connection: about 42 KiB
  each, more than a whole idle connection costs without it (bench/live.py). Here the server
  keeps a 2 KiB window (11 bits, memLevel 2; ~16 KiB of zlib state) and asks clients not to
  keep context (``client_no_context_takeover``), so no decompressor outlives a frame. Messages
  to one client within ``LIVE_BATCH_WINDOW_MS`` share a frame, so the small window costs little
  ratio (odds stream: ~5.8 one message per frame, ~7 batched, against 7–9 before).
- **One heartbeat.** The live protocol has its own: clients ping every ``LIVE_HEARTBEAT_S`` and
  one sweep per process closes a connection silent for ``LIVE_IDLE_TIMEOUT_S`` (4408), which
  is how dead peers are found. uvicorn's protocol pings (every 20 s by default, one timer and
  one ping/pong per connection) would be a second mechanism doing the same job, so they are off
  unless ``--ws-ping-interval`` asks for them (e.g. behind a proxy that needs server traffic).
"""

from __future__ import annotations

import argparse

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

APP = "a1site.asgi:application"
DEFLATE_WINDOW_BITS = 11
DEFLATE_MEM_LEVEL = 2


def deflate_factory() -> ServerPerMessageDeflateFactory:
    return ServerPerMessageDeflateFactory(
        server_max_window_bits=DEFLATE_WINDOW_BITS,
        client_no_context_takeover=True,
        compress_settings={"memLevel": DEFLATE_MEM_LEVEL},
    )


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with the smaller permessage-deflate state above."""

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if config.ws_per_message_deflate:
            self.conn = ServerProtocol(
                extensions=[deflate_factory()], max_size=config.ws_max_size, logger=self.conn.logger
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve A1 (HTTP and /ws/) with uvicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    parser.add_argument("--backlog", type=int, default=2048)
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
        ws=LiveWebSocketProtocol,
        ws_per_message_deflate=args.deflate,
        ws_ping_interval=args.ws_ping_interval,
        ws_ping_timeout=args.ws_ping_interval,
    )


if __name__ == "__main__":
    main()
