from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_sports(sender, **kwargs) -> None:
    from .services import sports_sync_catalogue

    sports_sync_catalogue()


def _grade_final_game(sender, game: dict, **kwargs) -> None:
    """live's ``game_final``: queue grading of the game's settled props."""
    from .models import Game
    from .tasks import grade_props_task

    ids = list(
        Game.objects.filter(sport__code=game.get("sport"), external_id=game.get("game")).values_list("pk", flat=True)
    )
    if ids:
        grade_props_task.delay(ids)


# The nightly slate: after the books post the day's lines (UTC).
NIGHTLY_SLATE = {"task": "predictions.predict_slates", "schedule_hour": 6}


class PredictionsConfig(AppConfig):
    name = "predictions"
    verbose_name = "Predictions"

    def ready(self) -> None:
        from a1site.core.nav import register_nav
        from a1site.core.panels import register_panel
        from a1site.registry.services import model_version_activated

        from . import panels
        from .serving import on_model_version_activated

        register_nav(key="predictions", label="Predictions", url_name="predictions:props")
        # The Sport rows mirror the engine's catalogue; keep them in step after every migrate.
        post_migrate.connect(_sync_sports, sender=self, dispatch_uid="predictions.sync_sports")
        # Every process swaps in a newly activated version (predictions.serving).
        model_version_activated.connect(on_model_version_activated, dispatch_uid="predictions.serving_generation")
        register_panel(page="dashboard", key="predictions.edges", render=panels.dashboard_edges)
        register_panel(page="models", key="predictions.live", render=panels.models_live)
        self._connect_live()
        self._schedule_nightly_slate()

    def _connect_live(self) -> None:
        try:
            from live.registry import register_topic
            from live.signals import game_final, odds_ticks_received
        except ImportError:
            return
        from .live_wiring import on_odds_ticks

        game_final.connect(_grade_final_game, dispatch_uid="predictions.grade_final_game")
        # Odds ticks → prop quotes, predictions, predictions.* messages and edge alerts.
        odds_ticks_received.connect(on_odds_ticks, dispatch_uid="predictions.odds_ticks")
        register_topic("predictions", lambda user, topic: bool(getattr(user, "is_authenticated", False)))

    def _schedule_nightly_slate(self) -> None:
        from celery.schedules import crontab

        from a1site.celery import app

        schedule = dict(app.conf.beat_schedule or {})
        schedule["predictions.nightly_slate"] = {
            "task": NIGHTLY_SLATE["task"],
            "schedule": crontab(hour=NIGHTLY_SLATE["schedule_hour"], minute=0),
        }
        app.conf.beat_schedule = schedule
