from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "a1site.core"
    label = "core"
    verbose_name = "A1 core"
