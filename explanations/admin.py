from django.contrib import admin

from .models import BackgroundSample, GlobalInsight


@admin.register(BackgroundSample)
class BackgroundSampleAdmin(admin.ModelAdmin):
    list_display = ("model_version", "n_rows", "n_features", "source", "stability", "data_last_date", "created_at")
    list_filter = ("source",)
    search_fields = ("model_version__name",)
    readonly_fields = [field.name for field in BackgroundSample._meta.fields if field.name != "rows"]
    exclude = ("rows",)

    def has_add_permission(self, request):
        return False


@admin.register(GlobalInsight)
class GlobalInsightAdmin(admin.ModelAdmin):
    list_display = ("model_version", "n_rows", "additivity_max_error", "computed_by", "computed_at")
    search_fields = ("model_version__name",)
    readonly_fields = [field.name for field in GlobalInsight._meta.fields]

    def has_add_permission(self, request):
        return False
