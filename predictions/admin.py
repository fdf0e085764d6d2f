"""Admin for the sports data; training runs as a job from the Sport list ("Train models")."""

from django.contrib import admin, messages

from a1site.core.admin import ReadOnlyModelAdmin
from a1site.core.errors import ApplicationError

from . import grading, services
from .models import (
    DriftWarning,
    EnsembleWeights,
    Game,
    ModelLiveMetrics,
    Player,
    Prediction,
    PropLine,
    Result,
    ShadowModel,
    Sport,
    StatLine,
    Team,
)


@admin.register(Sport)
class SportAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "simulated", "horizon")
    list_filter = ("simulated", "horizon")
    search_fields = ("code", "label")
    actions = ["train_models"]

    def has_add_permission(self, request):
        return False  # the sports mirror the engine's catalogue

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Train models for the selected sports (runs as a job)")
    def train_models(self, request, queryset):
        for sport in queryset.order_by("code"):
            try:
                job = services.models_train_start(user=request.user, sport=sport.code)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request, f"Training {sport.label} models: job {job.id} (see Jobs for progress).", messages.SUCCESS
                )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "abbreviation", "sport", "external_id", "simulated")
    list_filter = ("sport", "simulated")
    search_fields = ("name", "abbreviation", "external_id")
    list_select_related = ("sport",)


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ("name", "sport", "team", "role", "external_id", "simulated")
    list_filter = ("sport", "role", "simulated")
    search_fields = ("name", "external_id")
    list_select_related = ("sport", "team")
    raw_id_fields = ("team",)


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ("external_id", "sport", "kind", "season", "date", "away_team", "home_team", "simulated")
    list_filter = ("sport", "kind", "season", "simulated")
    search_fields = ("external_id", "home_team__name", "away_team__name")
    list_select_related = ("sport", "home_team", "away_team")
    raw_id_fields = ("home_team", "away_team")
    date_hierarchy = "date"


@admin.register(StatLine)
class StatLineAdmin(admin.ModelAdmin):
    list_display = ("player", "game", "team", "minutes", "stats", "simulated")
    list_filter = ("game__sport", "simulated", "role")
    search_fields = ("player__name", "player__external_id", "game__external_id")
    list_select_related = ("player", "game", "team")
    raw_id_fields = ("player", "game", "team", "opponent")


@admin.register(PropLine)
class PropLineAdmin(admin.ModelAdmin):
    list_display = (
        "player",
        "game",
        "stat",
        "line",
        "book",
        "over_decimal_odds",
        "under_decimal_odds",
        "seen_at",
        "simulated",
    )
    list_filter = ("game__sport", "stat", "book", "simulated")
    search_fields = ("player__name", "player__external_id", "game__external_id")
    list_select_related = ("player", "game")
    raw_id_fields = ("player", "game")


@admin.register(Result)
class ResultAdmin(admin.ModelAdmin):
    list_display = ("player", "game", "stat", "value", "status")
    list_filter = ("game__sport", "stat", "status")
    search_fields = ("player__name", "player__external_id", "game__external_id")
    list_select_related = ("player", "game")
    raw_id_fields = ("player", "game")


# --- Serving and live grading ------------------------------------------------------------------


@admin.register(DriftWarning)
class DriftWarningAdmin(ReadOnlyModelAdmin):
    """Raised by grading when live log loss exceeds the held-out value by the margin."""

    list_display = (
        "model_version",
        "live_log_loss",
        "validation_log_loss",
        "margin",
        "n_graded",
        "created_at",
        "cleared_at",
    )
    list_filter = ("cleared_at",)
    readonly_fields = [f.name for f in DriftWarning._meta.fields]


@admin.register(ModelLiveMetrics)
class ModelLiveMetricsAdmin(ReadOnlyModelAdmin):
    list_display = ("model_version", "member", "n_graded", "log_loss", "ewm_log_loss", "brier", "hit_rate", "clv")
    readonly_fields = [f.name for f in ModelLiveMetrics._meta.fields]


@admin.register(EnsembleWeights)
class EnsembleWeightsAdmin(ReadOnlyModelAdmin):
    list_display = ("model_version", "weights", "member_log_loss", "n_graded", "reason", "created_at")
    readonly_fields = [f.name for f in EnsembleWeights._meta.fields]


@admin.register(ShadowModel)
class ShadowModelAdmin(ReadOnlyModelAdmin):
    """Start shadows from the Models page; stop them there or with this list's action (both
    through grading.shadow_stop: audited, and every server process stops scoring them)."""

    list_display = ("model_version", "active", "started_at", "started_by")
    readonly_fields = [f.name for f in ShadowModel._meta.fields]
    actions = ["stop_shadows"]

    @admin.action(description="Stop the selected shadows (audited)")
    def stop_shadows(self, request, queryset):
        for shadow in queryset.filter(active=True):
            grading.shadow_stop(version_id=shadow.model_version_id, user=request.user)
        self.message_user(request, "Stopped.", messages.SUCCESS)


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "player",
        "stat",
        "line",
        "p_over",
        "edge",
        "side",
        "model_version",
        "shadow",
        "outcome",
        "created_at",
    )
    list_filter = ("shadow", "source", "outcome", "stat")
    list_select_related = ("player", "model_version")
    raw_id_fields = ("prop_line", "game", "player", "model_version", "weights")
