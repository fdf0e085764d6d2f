"""Bets: an accepted allocation (audited, idempotent), bets recorded by hand, settlement by
hand or from the stored results with closing line value, and the P&L."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import numpy as np
from django.db import transaction
from django.utils import timezone

import live
from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from predictions import selectors as prediction_selectors

from .. import engine
from ..models import Bet, Opportunity, OptimizationRun, Portfolio
from .building import CENT


def allocation_accept(*, run_id: int, user) -> list[Bet]:
    """Place the run's allocation as bets. Accepting twice changes nothing the second time
    (one audit row, one set of bets)."""
    with transaction.atomic():
        try:
            run = (
                OptimizationRun.objects.select_for_update()
                .select_related("portfolio")
                .get(pk=run_id, portfolio__owner=user)
            )
        except OptimizationRun.DoesNotExist:
            raise ApplicationError("Not found.", code="not_found", status_code=404) from None
        if run.accepted_at is not None:
            return list(run.bets.all())
        if run.status != OptimizationRun.Status.SUCCEEDED or not run.report:
            raise ApplicationError("Only a finished run can be accepted.", code="run_not_finished", status_code=409)
        opportunities = Opportunity.objects.in_bulk(run.report["opportunity_ids"])
        bets = []
        for opportunity_id, stake in zip(run.report["opportunity_ids"], run.report["stakes"], strict=True):
            amount = Decimal(str(stake)).quantize(CENT, rounding=ROUND_DOWN)
            opportunity = opportunities.get(opportunity_id)
            if amount > 0 and opportunity is not None:
                bets.append(
                    Bet(
                        portfolio=run.portfolio,
                        run=run,
                        opportunity=opportunity,
                        description=opportunity.description,
                        decimal_odds=opportunity.decimal_odds,
                        stake=amount,
                    )
                )
        Bet.objects.bulk_create(bets)
        run.accepted_at = timezone.now()
        run.accepted_by = user
        run.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            actor=user,
            action="portfolio.allocation_accept",
            obj=run.portfolio,
            after={
                "run_id": run.pk,
                "bets": [
                    {"description": b.description, "stake": str(b.stake), "decimal_odds": b.decimal_odds} for b in bets
                ],
            },
            details={"expected_log_growth": run.report.get("expected_log_growth")},
        )
        live.publish(f"portfolio.{run.portfolio_id}", "accepted", {"run_id": run.pk, "bets": len(bets)})
    return list(run.bets.all())


def bet_record(*, portfolio: Portfolio, user, description: str, decimal_odds: float, stake: Decimal) -> Bet:
    if decimal_odds <= 1:
        raise ApplicationError("Odds must be above 1.", fields={"decimal_odds": ["must be > 1"]})
    if stake <= 0:
        raise ApplicationError("Stake must be positive.", fields={"stake": ["must be > 0"]})
    with transaction.atomic():
        bet = Bet.objects.create(
            portfolio=portfolio, description=description, decimal_odds=decimal_odds, stake=stake.quantize(CENT)
        )
        audit_record(
            actor=user,
            action="portfolio.bet_record",
            obj=bet,
            after={"stake": str(bet.stake), "decimal_odds": decimal_odds},
        )
    return bet


def bet_settle(*, bet_id: int, user, status: str) -> Bet:
    """open → won/lost/push/void with its profit; settling again with the same outcome is a no-op."""
    if status not in (Bet.Status.WON, Bet.Status.LOST, Bet.Status.PUSH, Bet.Status.VOID):
        raise ApplicationError("Unknown outcome.", fields={"status": ["won, lost, push or void"]})
    with transaction.atomic():
        bet = Bet.objects.select_for_update().filter(pk=bet_id, portfolio__owner=user).first()
        if bet is None:
            raise ApplicationError("Not found.", code="not_found", status_code=404)
        if bet.status == status:
            return bet
        if bet.status != Bet.Status.OPEN:
            raise ApplicationError("This bet is already settled.", code="already_settled", status_code=409)
        bet.profit = _profit(bet, status)
        bet.status = status
        bet.settled_at = timezone.now()
        bet.save(update_fields=["status", "profit", "settled_at"])
        audit_record(
            actor=user, action="portfolio.bet_settle", obj=bet, after={"status": status, "profit": str(bet.profit)}
        )
    return bet


def pnl_summary(*, bets: list[Bet], bankroll: Decimal) -> dict:
    """ROI (profit / bankroll), yield (profit / staked), maximum drawdown of the bankroll path,
    mean closing line value of the settled bets that have one."""
    settled = sorted((b for b in bets if b.status != Bet.Status.OPEN), key=lambda b: (b.settled_at, b.pk))
    staked = sum((b.stake for b in settled if b.status != Bet.Status.VOID), Decimal("0"))
    profit = sum((b.profit or Decimal("0") for b in settled), Decimal("0"))
    path = [float(bankroll)]
    for bet in settled:
        path.append(path[-1] + float(bet.profit or 0))
    peak = np.maximum.accumulate(np.array(path))
    drawdown = float(np.max((peak - path) / peak)) if len(path) > 1 else 0.0
    return {
        "settled": len(settled),
        "open": sum(1 for b in bets if b.status == Bet.Status.OPEN),
        "staked": str(staked),
        "profit": str(profit),
        "roi": float(profit / bankroll) if bankroll else None,
        "yield": float(profit / staked) if staked else None,
        "max_drawdown": drawdown,
        "mean_clv": float(np.mean(clvs)) if (clvs := [b.clv for b in settled if b.clv is not None]) else None,
        "bankroll_path": path,
    }


def _profit(bet: Bet, status: str) -> Decimal:
    win = (Decimal(str(bet.decimal_odds)) - 1) * bet.stake
    return {"won": win, "lost": -bet.stake}.get(status, Decimal("0")).quantize(CENT)


def bets_settle_from_results(*, portfolio_id: int | None = None) -> dict:
    """Settle the open bets placed from slate props whose results are stored (the grading rule
    of predictions), with their closing line value: the closing de-vigged probability of the
    side times the odds taken, minus one. Idempotent: settled bets are skipped."""
    open_bets = Bet.objects.filter(status=Bet.Status.OPEN, opportunity__prop_line_id__isnull=False)
    if portfolio_id is not None:
        open_bets = open_bets.filter(portfolio_id=portfolio_id)
    bets = list(open_bets.select_related("opportunity", "portfolio__owner"))
    settlements = prediction_selectors.prop_settlements(prop_line_ids={b.opportunity.prop_line_id for b in bets})
    settled = 0
    with transaction.atomic():
        for bet in bets:
            found = settlements.get(bet.opportunity.prop_line_id)
            if not found or found["outcome"] is None:
                continue
            side = bet.opportunity.side
            status = {"push": "push", "void": "void"}.get(found["outcome"]) or (
                "won" if found["outcome"] == side else "lost"
            )
            closing = engine.devig([found["closing_over"], found["closing_under"]], method=bet.portfolio.devig_method)
            bet.clv = float(closing[0 if side == "over" else 1] * bet.decimal_odds - 1.0)
            bet.profit = _profit(bet, status)
            bet.status = status
            bet.settled_at = timezone.now()
            bet.save(update_fields=["status", "profit", "clv", "settled_at"])
            audit_record(
                actor=None,
                action="portfolio.bet_settle",
                obj=bet,
                after={"status": status, "profit": str(bet.profit), "clv": bet.clv, "from": "results"},
            )
            live.publish(f"portfolio.{bet.portfolio_id}", "bet_settled", {"bet_id": bet.pk, "status": status})
            settled += 1
    return {"open": len(bets), "settled": settled}
