"""The Live page in headless Chromium: a replayed odds move shows up in the ticker, and a
rescored prediction in the predictions ticker beside it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from tests.support import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def asgi_live_server(settings):
    """uvicorn in a thread of this process: same in-memory broker and test database."""
    import uvicorn

    from a1site.asgi import application
    from live.backends import reset_broker

    settings.REDIS_URL = ""
    reset_broker()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws_per_message_deflate=True
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    reset_broker()


def test_live_page_shows_a_replayed_odds_move(browser, asgi_live_server, user, password):
    from playwright.sync_api import expect

    from tests.e2e.conftest import ARTIFACTS

    browser_client = Client()
    browser_client.login(username=user.username, password=password)
    session = browser_client.cookies["sessionid"].value

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_cookies([{"name": "sessionid", "value": session, "url": asgi_live_server}])
        page = context.new_page()
        page.goto(f"{asgi_live_server}/live/")
        expect(page.get_by_test_id("live-state")).to_have_text("live", timeout=15_000)

        call_command(
            "replay_odds", str(ROOT / "live" / "data" / "sample_odds_feed.csv"), "--speed", "max", "--limit", "60"
        )

        ticker = page.get_by_test_id("odds-ticker")
        expect(ticker).to_contain_text("Sim NFL Player 01", timeout=15_000)
        expect(ticker.locator("li")).to_have_count(60, timeout=15_000)
        expect(ticker.locator(".move").first).to_be_visible()

        # What predictions.services.odds_ticks publishes when a quote is rescored (twice: P(over) moves).
        from live.services import publish

        update = {
            "prediction_id": 1,
            "sport": "nba",
            "game": "SLATE-20261126-00",
            "player": "Sim Player 0042",
            "player_id": 42,
            "player_external_id": "P0042",
            "stat": "points",
            "book": "SimBook North",
            "line": 21.5,
            "seen_at": "2026-11-26T12:05:00+00:00",
            "p_over": 0.562,
            "edge": 0.071,
            "side": "over",
            "simulated": True,
        }
        publish("predictions.nba", "prediction.updated", {**update, "p_over": 0.541, "edge": 0.032})
        publish("predictions.nba", "prediction.updated", update)
        predictions = page.get_by_test_id("predictions-ticker")
        expect(predictions.locator("li")).to_have_count(2, timeout=15_000)
        newest = predictions.locator("li").first
        expect(newest).to_contain_text("Sim Player 0042")
        expect(newest).to_contain_text("points 21.5")
        expect(newest).to_contain_text("P(over) 54.1% → 56.2%")
        expect(newest).to_contain_text("edge +7.1% over")
        expect(newest.get_by_test_id("simulated-label")).to_be_visible()
        expect(newest.locator("a")).to_have_attribute("href", "/predictions/1/")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "live.png"), full_page=True)
    finally:
        context.close()
