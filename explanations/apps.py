from django.apps import AppConfig


class ExplanationsConfig(AppConfig):
    name = "explanations"
    verbose_name = "Explanations"

    def ready(self) -> None:
        from a1site.core.panels import register_panel
        from a1site.registry.services import model_version_activated

        from . import tasks, views  # noqa: F401 - tasks: registered here, so services can queue them by name
        from .services.jobs import on_model_version_activated

        register_panel(page="prediction_detail", key="explanations.detail", render=views.prediction_detail_panel)
        register_panel(page="models", key="explanations.insight", render=views.models_insight_panel)
        # A new production ensemble precomputes today's fast explanations (a job).
        model_version_activated.connect(on_model_version_activated, dispatch_uid="explanations.slate_precompute")
