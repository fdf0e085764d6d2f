from celery.schedules import crontab
from django.apps import AppConfig
from django.db.models.signals import post_migrate

# The nightly slate: after the books post the day's lines (UTC).
NIGHTLY_SLATE = {"task": "predictions.predict_slates", "schedule_hour": 6}


class PredictionsConfig(AppConfig):
    name = "predictions"
    verbose_name = "Predictions"

    def ready(self) -> None:
        # Imported here, not at module level: they import models, which need the app registry
        # that Django is still filling when it imports this module. Importing ``receivers``
        # also registers the app's Celery tasks (services queue them by name).
        from a1site.celery import app
        from a1site.core.lifespan import register_startup
        from a1site.core.nav import register_nav
        from a1site.core.panels import register_panel
        from a1site.registry.services import model_version_activated
        from live.registry import register_topic
        from live.signals import game_final, odds_ticks_received

        from . import panels, receivers
        from .serving import on_model_version_activated

        register_nav(key="predictions", label="Predictions", url_name="predictions:props")
        # The Sport rows mirror the engine's catalogue; keep them in step after every migrate.
        post_migrate.connect(receivers.sync_sports, sender=self, dispatch_uid="predictions.sync_sports")
        # Every process swaps in a newly activated version (predictions.serving).
        model_version_activated.connect(on_model_version_activated, dispatch_uid="predictions.serving_generation")
        register_panel(page="dashboard", key="predictions.edges", render=panels.dashboard_edges)
        register_panel(page="models", key="predictions.live", render=panels.models_live)
        game_final.connect(receivers.grade_final_game, dispatch_uid="predictions.grade_final_game")
        # Odds ticks → prop quotes, predictions, predictions.* messages and edge alerts.
        odds_ticks_received.connect(receivers.on_odds_ticks, dispatch_uid="predictions.odds_ticks")
        register_topic("predictions", lambda user, topic: bool(getattr(user, "is_authenticated", False)))
        schedule = dict(app.conf.beat_schedule or {})
        schedule["predictions.nightly_slate"] = {
            "task": NIGHTLY_SLATE["task"],
            "schedule": crontab(hour=NIGHTLY_SLATE["schedule_hour"], minute=0),
        }
        app.conf.beat_schedule = schedule
        # The embedded demo's simulated odds feed plays in each server process (A1_DEMO_ODDS_FEED).
        register_startup(key="predictions.demo_odds_feed", start=receivers.start_demo_odds_feed)
