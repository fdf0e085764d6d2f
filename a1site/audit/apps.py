from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "a1site.audit"
    label = "audit"
    verbose_name = "Audit log"
