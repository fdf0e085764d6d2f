"""Reads of the portfolios app; each owns its select_related/prefetch."""

from __future__ import annotations

from django.db.models import QuerySet

from a1site.jobs.selectors import job_list_for_user

from .models import Bet, OptimizationRun, Portfolio


def portfolio_list(*, owner) -> QuerySet[Portfolio]:
    return Portfolio.objects.filter(owner=owner)


def portfolio_get(*, owner, portfolio_id: int) -> Portfolio | None:
    """The owner's portfolio, or None (another user's looks the same as a missing one)."""
    return Portfolio.objects.filter(owner=owner, pk=portfolio_id).prefetch_related("opportunities").first()


def run_list(*, portfolio_id: int) -> QuerySet[OptimizationRun]:
    return OptimizationRun.objects.filter(portfolio_id=portfolio_id)


def run_get(*, owner, portfolio_id: int, run_id: int) -> OptimizationRun | None:
    return OptimizationRun.objects.filter(portfolio__owner=owner, portfolio_id=portfolio_id, pk=run_id).first()


# The kind of the walk-forward backtest's jobs (services.backtest creates them).
BACKTEST_JOB_KIND = "portfolio.backtest"


def backtest_jobs(*, owner, portfolio_id: int):
    """The owner's backtest jobs of this portfolio, newest first."""
    return job_list_for_user(user=owner).filter(kind=BACKTEST_JOB_KIND, params__portfolio_id=portfolio_id)


def bet_list(*, portfolio_id: int) -> QuerySet[Bet]:
    return Bet.objects.filter(portfolio_id=portfolio_id)


def portfolio_topic_allowed(*, user, topic: str) -> bool:
    """``portfolio.{id}`` is readable by its owner only."""
    if not getattr(user, "is_authenticated", False):
        return False
    _, _, rest = topic.partition(".")
    if not rest.isdigit():
        return False
    return Portfolio.objects.filter(pk=int(rest), owner=user).exists()


def auto_rebalance_exists() -> bool:
    return Portfolio.objects.filter(auto_rebalance=True).exists()
