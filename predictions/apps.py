from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_sports(sender, **kwargs) -> None:
    from .services import sports_sync_catalogue

    sports_sync_catalogue()


class PredictionsConfig(AppConfig):
    name = "predictions"
    verbose_name = "Predictions"

    def ready(self) -> None:
        from a1site.core.nav import register_nav

        register_nav(key="predictions", label="Predictions", url_name="predictions:props")
        # The Sport rows mirror the engine's catalogue; keep them in step after every migrate.
        post_migrate.connect(_sync_sports, sender=self, dispatch_uid="predictions.sync_sports")
