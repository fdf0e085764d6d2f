from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "a1site.registry"
    label = "registry"
    verbose_name = "Model registry"
