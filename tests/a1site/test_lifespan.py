"""The ASGI lifespan scope: start-up hooks run when a server starts and stop when it stops, and
uvicorn no longer reports lifespan as unsupported."""

from __future__ import annotations

import asyncio
import logging

import pytest

from a1site.core import lifespan


async def run_lifespan(app) -> list[str]:
    """Drive ``app`` through start-up and shut-down as a server does; the message types it sent."""
    inbox: asyncio.Queue = asyncio.Queue()
    sent: list[str] = []
    for kind in ("lifespan.startup", "lifespan.shutdown"):
        inbox.put_nowait({"type": kind})

    async def send(message):
        sent.append(message["type"])

    await asyncio.wait_for(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send), 5)
    return sent


@pytest.fixture
def hooks(monkeypatch):
    registered: dict = {}
    monkeypatch.setattr(lifespan, "_startup_hooks", registered)
    return registered


async def test_start_up_hooks_run_at_start_and_their_stops_at_shut_down(hooks):
    events = []

    def start():
        events.append("started")
        return lambda: events.append("stopped")

    lifespan.register_startup(key="one", start=start)
    lifespan.register_startup(key="two", start=lambda: None)
    assert await run_lifespan(lifespan.LifespanApp()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["started", "stopped"]


async def test_a_failing_hook_is_logged_and_the_server_still_starts(hooks, caplog):
    def broken():
        raise RuntimeError("no feed today")

    lifespan.register_startup(key="broken", start=broken)
    with caplog.at_level(logging.ERROR, logger="a1site.core.lifespan"):
        sent = await run_lifespan(lifespan.LifespanApp())
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert "start-up hook broken failed" in caplog.text


async def test_the_site_application_speaks_lifespan(hooks, settings):
    from a1site.asgi import application

    assert await run_lifespan(application) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_predictions_registers_the_demo_odds_feed_as_a_start_up_hook():
    assert "predictions.demo_odds_feed" in lifespan._startup_hooks


@pytest.fixture
def unfrozen():
    import gc

    gc.unfreeze()
    yield
    gc.unfreeze()  # what the test froze goes back to the collector


async def test_start_up_moves_the_loaded_app_out_of_the_collectors_reach(hooks, unfrozen):
    """Full collections walked every object of the process (~0.12 s each under load, holding
    up /healthz on the event loop); what exists at start-up is frozen and never walked."""
    import gc

    assert gc.get_freeze_count() == 0
    await run_lifespan(lifespan.LifespanApp())
    assert gc.get_freeze_count() > 10_000  # Django, DRF, the apps: everything imported
