"""Signal receivers of the portfolios app: entry points (they queue tasks); connected in
``PortfoliosConfig.ready``."""

from __future__ import annotations

from . import selectors
from .tasks import rebalance_on_ticks_task, settle_bets_task


def on_odds_ticks(sender, ticks: list[dict], **kwargs) -> None:
    """live's ``odds_ticks_received`` (after commit): queue a rebalance when anyone asked for it."""
    ids = [tick["id"] for tick in ticks if isinstance(tick, dict) and tick.get("id") is not None]
    if ids and selectors.auto_rebalance_exists():
        rebalance_on_ticks_task.delay(ids)


def on_game_final(sender, game: dict, **kwargs) -> None:
    """live's ``game_final``: settle the bets whose results predictions now hold."""
    settle_bets_task.delay()


def topic_owner_only(user, topic: str) -> bool:
    """``portfolio.{id}``: only its owner may read it."""
    return selectors.portfolio_topic_allowed(user=user, topic=topic)
