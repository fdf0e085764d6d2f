from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "a1site.jobs"
    label = "jobs"
    verbose_name = "Jobs"
