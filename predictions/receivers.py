"""Signal receivers of the predictions app: entry points, like tasks and commands. Each starts
work (queues a task or calls one service); ``PredictionsConfig.ready`` connects them."""

from __future__ import annotations

import logging

from . import selectors, services
from .services import demo_odds
from .services.odds_ticks import TASK_TICKS
from .tasks import apply_odds_ticks_task, grade_props_task

logger = logging.getLogger(__name__)


def sync_sports(sender, **kwargs) -> None:
    """``post_migrate``: the Sport rows mirror the engine's catalogue."""
    services.sports_sync_catalogue()


def grade_final_game(sender, game: dict, **kwargs) -> None:
    """live's ``game_final``: queue grading of the game's settled props."""
    ids = selectors.game_ids_by_external_id(sport=game.get("sport"), external_id=game.get("game"))
    if ids:
        grade_props_task.delay(ids)


def on_odds_ticks(sender, ticks: list[dict], **kwargs) -> None:
    """live's ``odds_ticks_received`` (after commit): one task per ``TASK_TICKS`` ticks of the
    batch, in time order. A failure is logged here: the ticks are stored whatever predictions
    make of them."""
    ids = [tick["id"] for tick in ticks if isinstance(tick, dict) and tick.get("id") is not None]
    for start in range(0, len(ids), TASK_TICKS):
        chunk = ids[start : start + TASK_TICKS]
        try:
            apply_odds_ticks_task.delay(chunk)
        except Exception:
            logger.exception("odds ticks: applying %d tick(s) to predictions failed", len(chunk))


def start_demo_odds_feed():
    """ASGI lifespan start-up (a1site.core.lifespan): the demo's simulated odds feed in a thread
    of this server process when ``A1_DEMO_ODDS_FEED`` is on; returns what stops it."""
    return demo_odds.demo_odds_feed_start()
