from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live streams"

    def ready(self):
        from a1site.core.nav import register_nav
        from a1site.jobs.services import job_updated

        from .services import on_job_updated, register_builtin_topics

        register_builtin_topics()
        job_updated.connect(on_job_updated, dispatch_uid="live.job_updated")
        register_nav(key="live", label="Live", url_name="live:page")
