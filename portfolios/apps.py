from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    name = "portfolios"
    verbose_name = "Portfolios"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: they import models, which need the app registry Django is still
        # filling when it imports this module. ``receivers`` also registers the app's tasks.
        from a1site.core.nav import register_nav
        from live.registry import register_topic
        from live.signals import game_final, odds_ticks_received

        from . import receivers

        register_nav(key="portfolios", label="Portfolios", url_name="portfolios:list")
        register_topic("portfolio", receivers.topic_owner_only)
        odds_ticks_received.connect(receivers.on_odds_ticks, dispatch_uid="portfolios.rebalance_on_ticks")
        game_final.connect(receivers.on_game_final, dispatch_uid="portfolios.settle_bets")
