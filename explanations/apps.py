from django.apps import AppConfig


class ExplanationsConfig(AppConfig):
    name = "explanations"
    verbose_name = "Explanations"

    def ready(self) -> None:
        from a1site.core.panels import register_panel
        from a1site.registry.services import model_version_activated
        from predictions.signals import models_trained

        from . import receivers, tasks, views  # noqa: F401 - tasks: registered here, so services can queue them by name
        from .services.jobs import on_model_version_activated

        register_panel(page="prediction_detail", key="explanations.detail", render=views.prediction_detail_panel)
        register_panel(page="models", key="explanations.insight", render=views.models_insight_panel)
        # A new production ensemble precomputes today's fast explanations (a job).
        model_version_activated.connect(on_model_version_activated, dispatch_uid="explanations.slate_precompute")
        # A newly trained ensemble stores its background sample with it (from its training rows).
        models_trained.connect(receivers.store_background_on_training, dispatch_uid="explanations.background")
