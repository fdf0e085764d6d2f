from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "a1site.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Registers the app's Celery tasks in every process (services queue them by name).
        from . import tasks  # noqa: F401
