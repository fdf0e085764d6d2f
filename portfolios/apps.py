from django.apps import AppConfig


def _on_odds_ticks(sender, ticks: list[dict], **kwargs) -> None:
    """live's ``odds_ticks_received`` (after commit): queue a rebalance when anyone asked for it."""
    from . import selectors
    from .tasks import rebalance_on_ticks_task

    ids = [tick["id"] for tick in ticks if isinstance(tick, dict) and tick.get("id") is not None]
    if ids and selectors.auto_rebalance_exists():
        rebalance_on_ticks_task.delay(ids)


def _on_game_final(sender, game: dict, **kwargs) -> None:
    """live's ``game_final``: settle the bets whose results predictions now hold."""
    from .tasks import settle_bets_task

    settle_bets_task.delay()


def _topic_owner_only(user, topic: str) -> bool:
    from . import selectors

    return selectors.portfolio_topic_allowed(user=user, topic=topic)


class PortfoliosConfig(AppConfig):
    name = "portfolios"
    verbose_name = "Portfolios"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from a1site.core.nav import register_nav

        register_nav(key="portfolios", label="Portfolios", url_name="portfolios:list")
        try:
            from live.registry import register_topic
            from live.signals import game_final, odds_ticks_received
        except ImportError:
            return
        register_topic("portfolio", _topic_owner_only)
        odds_ticks_received.connect(_on_odds_ticks, dispatch_uid="portfolios.rebalance_on_ticks")
        game_final.connect(_on_game_final, dispatch_uid="portfolios.settle_bets")
