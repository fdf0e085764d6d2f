import json

from django.contrib import admin, messages
from django.utils.html import format_html

from a1site.core.errors import ApplicationError

from . import services
from .models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Versions are created by training and changed only through the registry services."""

    list_display = ("name", "version", "kind", "sport", "stat", "status", "created_at", "activated_at", "activated_by")
    list_filter = ("status", "sport", "kind", "stat")
    search_fields = ("name", "artifact_sha256")
    actions = ["activate_selected", "roll_back_selected"]
    readonly_fields = (
        "name",
        "sport",
        "stat",
        "kind",
        "version",
        "artifact",
        "artifact_sha256",
        "status",
        "training_data_start",
        "training_data_end",
        "metrics_pretty",
        "feature_schema_pretty",
        "plots",
        "created_at",
        "created_by",
        "activated_at",
        "activated_by",
    )
    fields = readonly_fields + ("notes",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Metrics")
    def metrics_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.metrics, indent=2, sort_keys=True))

    @admin.display(description="Feature schema")
    def feature_schema_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.feature_schema, indent=2))

    @admin.display(description="Plots")
    def plots(self, obj):
        images = [f.url for f in (obj.reliability_plot, obj.importance_plot) if f]
        return format_html("".join('<img src="{}" style="max-width:420px;margin-right:8px">' for _ in images), *images)

    @admin.action(description="Activate the selected version (archives the current production one)")
    def activate_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = services.model_version_activate(
            version_id=queryset.get().pk, user=request.user, reason="admin action"
        )
        self.message_user(request, f"{version} is now in production.", messages.SUCCESS)

    @admin.action(description="Roll back the selected names to their previous production version")
    def roll_back_selected(self, request, queryset):
        for name in sorted(set(queryset.values_list("name", flat=True))):
            try:
                version = services.model_version_rollback(name=name, user=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{name} rolled back to v{version.version}.", messages.SUCCESS)
