from django.apps import AppConfig


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
        except ImportError:
            return
        register_topic("portfolio", _topic_owner_only)
