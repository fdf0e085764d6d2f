"""The first hour of a fresh embedded install, in Chromium: a `make run`-style server (its own
SQLite database, demo data, trained models, today's demo slate, then `python -m a1site.serve`)
shows odds ticks and rescored predictions on /live/ without any other command, because the
server plays the demo's simulated odds feed from start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.support import free_port, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "first-hour-e2e-pass"


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """`make run` on a fresh checkout, smaller: the demo's NBA league (--small) and quick NBA
    models instead of every sport's full set, so the test takes about a minute."""
    var = tmp_path_factory.mktemp("first-hour")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "a1site.settings",
            "A1_ENV_FILE": str(var / "no.env"),
            "A1_VAR_DIR": str(var),
            "DEBUG": "true",
            "SECRET_KEY": "first-hour-e2e-secret",
            "REDIS_URL": "",
            "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
            "MEDIA_ROOT": str(var / "media"),
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(f"TEST_{name}", None)
    manage(env, "migrate", "--noinput")
    manage(env, "load_demo", "--small", "--sport", "nba", "--no-progress")
    manage(env, "train_models", "--sport", "nba", "--quick", "--no-progress")
    manage(env, "bootstrap_demo")
    manage(env, "ensure_demo_user", "--password", PASSWORD)
    port = free_port()
    log_path = var / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "a1site.serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def ready() -> bool:
        assert server.poll() is None, f"server exited:\n{log_path.read_text()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(ready, timeout=60, what="the fresh server")
        yield {"url": f"http://127.0.0.1:{port}", "log": log_path}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def test_a_fresh_server_moves_odds_and_predictions_on_the_live_page_within_20_seconds(browser, fresh_server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{fresh_server['url']}/accounts/login/")
        page.fill("#id_username", "demo")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector('[data-testid="current-user"]')

        page.goto(f"{fresh_server['url']}/live/")
        opened = time.monotonic()
        expect(page.get_by_test_id("live-state")).to_have_text("live", timeout=10_000)
        odds = page.get_by_test_id("odds-ticker").locator("li")
        predictions = page.get_by_test_id("predictions-ticker").locator("li")
        expect(odds.first).to_be_visible(timeout=20_000)
        expect(predictions.first).to_be_visible(timeout=max(1.0, 20 - (time.monotonic() - opened)) * 1000)
        waited = time.monotonic() - opened
        assert waited <= 20, f"the first odds tick and prediction update took {waited:.1f} s"
        expect(predictions.first.get_by_test_id("simulated-label")).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "live_first_hour.png"), full_page=True)
    finally:
        context.close()
    log = fresh_server["log"].read_text()
    assert "lifespan" not in log.lower() or "unsupported" not in log.lower(), log
