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

**Workers share the load** (``--workers`` > 1): each listens on a socket of its own, bound
with ``SO_REUSEPORT``, so the kernel spreads new connections evenly over them. uvicorn binds
one socket in its supervisor and hands it to every worker, and a worker's event loop accepts
up to a hundred waiting connections at each wake-up: under a burst of new keep-alive
connections (bench/http_load.py's 500) one worker took most of them and kept them, at 82 %
of a core against the other's 11 % (``ps``, during the soak), so two workers served about
what one does. The supervisor first checks that the port is free, since sockets with
``SO_REUSEPORT`` would otherwise quietly share it with a server already running there.
``--no-reuse-port`` serves with uvicorn's shared socket (and systems without the option do).

``A1_WS_FAST_PATH`` is read from the environment only (not from ``.env``): the server decides
it before Django's settings load.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys

import environ
import uvicorn
from uvicorn.supervisors import multiprocess

logger = logging.getLogger("uvicorn.error")

APP = "a1site.asgi:application"
# An import string, so uvicorn imports the private-hooks module only when the fast path is on.
FAST_WS_PROTOCOL = "a1site.ws_fast:LiveWebSocketProtocol"
STOCK_WS_PROTOCOL = "auto"


def ws_protocol(*, fast_path: bool) -> str:
    return FAST_WS_PROTOCOL if fast_path else STOCK_WS_PROTOCOL


def reuse_port_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket on ``host:port`` that other processes' sockets bound with
    ``SO_REUSEPORT`` share: the kernel hands each new connection to one of them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class ReusePortWorker(multiprocess.Process):
    """uvicorn's worker process, serving a ``SO_REUSEPORT`` socket it binds itself."""

    def target(self, sockets=None) -> None:  # pragma: no cover - runs in the worker process
        try:
            own = reuse_port_socket(self.config.host, self.config.port, self.config.backlog)
        except OSError as error:
            logger.error("Could not listen on %s:%s: %s", self.config.host, self.config.port, error)
            sys.exit(multiprocess.STARTUP_FAILURE)  # the supervisor stops rather than retry
        super().target([own])


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` (a plain bind, without ``SO_REUSEPORT``)."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def serve_reuse_port(config: uvicorn.Config) -> None:
    """uvicorn's supervisor (restarts, signals) over workers with sockets of their own."""
    if not port_is_free(config.host, config.port):
        logger.error("%s:%s is in use: is a server already running there?", config.host, config.port)
        sys.exit(multiprocess.STARTUP_FAILURE)
    # The supervisor builds its workers by this module-level name (uvicorn 0.55, pinned in
    # pyproject.toml with the WebSocket fast path's internals; tests/a1site/test_serve.py).
    multiprocess.Process = ReusePortWorker
    multiprocess.Multiprocess(config, sockets=[]).run()


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
    parser.add_argument(
        "--no-reuse-port",
        dest="reuse_port",
        action="store_false",
        help="workers share the supervisor's socket (uvicorn's way) instead of each binding its own",
    )
    args = parser.parse_args(argv)
    options = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "log_level": args.log_level,
        "access_log": args.access_log,
        "backlog": args.backlog,
        "timeout_keep_alive": args.timeout_keep_alive,
        "ws": ws_protocol(fast_path=environ.Env().bool("A1_WS_FAST_PATH", default=True)),
        "ws_per_message_deflate": args.deflate,
        "ws_ping_interval": args.ws_ping_interval,
        "ws_ping_timeout": args.ws_ping_interval,
    }
    if args.workers > 1 and args.reuse_port and hasattr(socket, "SO_REUSEPORT"):
        serve_reuse_port(uvicorn.Config(APP, **options))
    else:
        uvicorn.run(APP, **options)


if __name__ == "__main__":
    main()
