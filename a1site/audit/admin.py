from django.contrib import admin

from a1site.core.admin import ReadOnlyModelAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """Read-only: the audit log is never edited or deleted through the admin."""

    list_display = ("created_at", "actor_username", "action", "object_type", "object_id", "request_id")
    list_filter = ("action", "object_type", "created_at")
    search_fields = ("actor_username", "object_id", "request_id", "action")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
