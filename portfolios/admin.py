"""Read-only admin: portfolios, runs and bets change only through portfolios.services."""

from django.contrib import admin

from .models import Bet, OptimizationRun, Portfolio


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Portfolio)
class PortfolioAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "owner", "bankroll", "devig_method", "created_at"]
    list_select_related = ["owner"]


@admin.register(OptimizationRun)
class OptimizationRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "portfolio", "status", "reason", "created_at", "accepted_at"]
    list_select_related = ["portfolio"]


@admin.register(Bet)
class BetAdmin(ReadOnlyAdmin):
    list_display = ["id", "portfolio", "description", "decimal_odds", "stake", "status", "profit"]
    list_select_related = ["portfolio"]
