"""The ASGI lifespan protocol: what a server process starts with it and stops before it exits.

uvicorn sends ``lifespan.startup`` once per worker process before it accepts connections, and
``lifespan.shutdown`` when it stops (https://asgi.readthedocs.io/en/latest/specs/lifespan.html).
Domain apps register start-up hooks here from their ``AppConfig.ready()`` (a1site imports no
domain app): ``start()`` runs at start-up and returns a ``stop()`` callable (or None), run at
shut-down. Management commands and test servers started with ``lifespan="off"`` run none.

A hook that fails is logged and does not keep the server from starting: it serves pages
whatever a background extra makes of its start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .memory import gc_freeze_at_start

logger = logging.getLogger(__name__)

Stop = Callable[[], None]
Start = Callable[[], Stop | None]

_startup_hooks: dict[str, Start] = {}


def register_startup(*, key: str, start: Start) -> None:
    """Run ``start()`` when a server process starts (once per key; a second call replaces it)."""
    _startup_hooks[key] = start


def startup_run() -> list[Stop]:
    """Run every start-up hook; the stop callables of those that returned one."""
    stops = []
    for key, start in _startup_hooks.items():
        try:
            stop = start()
        except Exception:
            logger.exception("start-up hook %s failed", key)
            continue
        if stop is not None:
            stops.append(stop)
    return stops


def shutdown_run(stops: list[Stop]) -> None:
    for stop in reversed(stops):
        try:
            stop()
        except Exception:
            logger.exception("shut-down hook failed")


class LifespanApp:
    """The ASGI app for the ``lifespan`` scope: start-up hooks, then their stops."""

    async def __call__(self, scope, receive, send) -> None:
        stops: list[Stop] = []
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Everything imported by now lives as long as the process (memory.py says why).
                gc_freeze_at_start()
                # The hooks only start threads: quick, and no ORM call in this event loop.
                stops = startup_run()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                shutdown_run(stops)
                await send({"type": "lifespan.shutdown.complete"})
                return
