"""Read-only admin: portfolios, runs and bets change only through portfolios.services."""

from django.contrib import admin

from a1site.core.admin import ReadOnlyModelAdmin as ReadOnlyAdmin

from .models import Bet, OptimizationRun, Portfolio


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
