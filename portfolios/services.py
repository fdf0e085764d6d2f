"""Use cases of the portfolios app: create a portfolio, optimize it as a job, accept an
allocation (audited, idempotent), record and settle bets."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_DOWN, Decimal

import numpy as np
from django.db import transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

import live
from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from a1site.jobs import services as jobs
from predictions import selectors as prediction_selectors

from . import engine
from .models import Bet, Opportunity, OptimizationRun, Portfolio
from .tasks import optimize_portfolio_task

logger = logging.getLogger(__name__)

LIMIT_FIELDS = (
    "max_exposure",
    "max_per_bet",
    "max_per_game",
    "max_bets",
    "min_stake",
    "increment",
    "kelly_fraction",
    "risk_alpha",
    "risk_beta",
)
RUN_SETTINGS = engine.RunSettings(n_scenarios=20_000, oos_scenarios=50_000)
CENT = Decimal("0.01")


def _limits(*, bankroll: float, limits: dict) -> engine.Limits:
    unknown = set(limits) - set(LIMIT_FIELDS)
    if unknown:
        raise ApplicationError("Unknown limits.", fields={f"limits.{k}": ["unknown limit"] for k in sorted(unknown)})
    try:
        return engine.Limits(bankroll=float(bankroll), **limits)
    except (ValueError, TypeError) as exc:
        field, _, message = str(exc).partition(": ")
        name = field if field == "bankroll" else f"limits.{field}"
        raise ApplicationError(f"Invalid {name}: {message}", fields={name: [message]}) from exc


def _opportunities_from_list(items: list[dict], *, method: str) -> list[dict]:
    out = []
    for index, item in enumerate(items):
        odds = float(item["decimal_odds"])
        other = item.get("other_decimal_odds")
        book = float(engine.devig([odds, float(other)], method=method)[0]) if other else None
        out.append(
            {
                "description": item["description"],
                "decimal_odds": odds,
                "probability": float(item["probability"]),
                "p_push": float(item.get("p_push") or 0.0),
                "book_probability": book,
                "event": item.get("event") or f"item{index}",
                "side": item.get("side") or "over",
                "game": item.get("game") or "",
                "book_max": item.get("book_max"),
                "prop_line_id": None,
            }
        )
    return out


def _opportunities_from_props(props_filter: dict, *, method: str) -> list[dict]:
    date = dt.date.fromisoformat(props_filter["date"]) if props_filter.get("date") else None
    props = prediction_selectors.priced_props_with_predictions(
        sport=props_filter.get("sport"),
        date=date,
        stat=props_filter.get("stat"),
        limit=int(props_filter.get("limit") or 500),
    )
    min_edge = float(props_filter.get("min_edge") or 0.0)
    out = []
    for prop in props:
        book_over, book_under = engine.devig([prop["over_decimal_odds"], prop["under_decimal_odds"]], method=method)
        event = f"{prop['game_id']}:{prop['player_id']}:{prop['stat']}"
        for side, odds, probability, book in (
            ("over", prop["over_decimal_odds"], prop["p_over"], book_over),
            ("under", prop["under_decimal_odds"], prop["p_under"], book_under),
        ):
            if not (0.0 < probability < 1.0) or probability * odds - 1.0 < min_edge:
                continue
            out.append(
                {
                    "description": f"{prop['player']} {prop['stat']} {side} {prop['line']:g} ({prop['book']})",
                    "decimal_odds": odds,
                    "probability": probability,
                    "p_push": prop["p_push"] or 0.0,
                    "book_probability": float(book),
                    "event": event,
                    "side": side,
                    "game": str(prop["game_id"]),
                    "book_max": None,
                    "prop_line_id": prop["prop_line_id"],
                    "market": market_key(
                        sport=prop["sport"],
                        game=prop["game_external_id"],
                        player=prop["player_external_id"],
                        stat=prop["stat"],
                        book=prop["book"],
                    ),
                    "line": prop["line"],
                    "player_id": prop["player_id"],
                    "stat": prop["stat"],
                    "date": props_filter.get("date"),
                }
            )
    return out


def market_key(*, sport: str, game: str, player: str, stat: str, book: str) -> str:
    """How an odds tick finds the opportunities it reprices (external ids, as ticks carry them;
    the odds feed stores book names in lower case)."""
    return f"{sport}:{game}:{player}:{stat}:{book.lower()}"


def portfolio_create(
    *,
    owner,
    name: str,
    bankroll: float,
    limits: dict,
    devig_method: str = "multiplicative",
    opportunities: list[dict] | None = None,
    props_filter: dict | None = None,
    auto_rebalance: bool = False,
) -> Portfolio:
    _limits(bankroll=bankroll, limits=limits)
    if devig_method not in engine.METHODS:
        raise ApplicationError("Unknown de-vig method.", fields={"devig_method": [f"choose one of {engine.METHODS}"]})
    if opportunities:
        rows = _opportunities_from_list(opportunities, method=devig_method)
    elif props_filter:
        rows = _opportunities_from_props(props_filter, method=devig_method)
    else:
        raise ApplicationError("Give opportunities or a props filter.", fields={"opportunities": ["required"]})
    for index, row in enumerate(rows):
        try:
            engine.Opportunity(
                key=str(index),
                decimal_odds=row["decimal_odds"],
                probability=row["probability"],
                p_push=row["p_push"],
                side=row["side"],
                book_max=float(row["book_max"]) if row["book_max"] is not None else None,
            )
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise ApplicationError(
                f"Invalid opportunity {index}: {message}", fields={f"opportunities.{index}.{field}": [message]}
            ) from exc
    with transaction.atomic():
        portfolio = Portfolio.objects.create(
            owner=owner,
            name=name,
            bankroll=Decimal(str(bankroll)).quantize(CENT),
            limits={k: v for k, v in limits.items() if v is not None},
            devig_method=devig_method,
            props_filter=props_filter or {},
            auto_rebalance=auto_rebalance,
        )
        Opportunity.objects.bulk_create(
            [
                Opportunity(
                    portfolio=portfolio,
                    position=index,
                    description=row["description"][:200],
                    decimal_odds=row["decimal_odds"],
                    probability=row["probability"],
                    p_push=row["p_push"],
                    book_probability=row["book_probability"],
                    edge=engine.edge(probability=row["probability"], decimal_odds=row["decimal_odds"]),
                    kelly_fraction=engine.kelly_fraction(
                        probability=row["probability"], decimal_odds=row["decimal_odds"], p_push=row["p_push"]
                    ),
                    event=row["event"][:120],
                    side=row["side"],
                    game=row["game"][:120],
                    book_max=row["book_max"],
                    prop_line_id=row["prop_line_id"],
                    market=row.get("market", ""),
                    line=row.get("line"),
                )
                for index, row in enumerate(rows)
            ]
        )
        audit_record(
            actor=owner,
            action="portfolio.create",
            obj=portfolio,
            after={"bankroll": str(portfolio.bankroll), "limits": portfolio.limits, "opportunities": len(rows)},
        )
    return portfolio


def portfolio_correlation(portfolio: Portfolio, opportunities: list[Opportunity]) -> np.ndarray | None:
    """Between the events of slate props, from the players' stored stat lines; None (independent)
    for explicit lists."""
    events, _ = engine.event_index([_engine_opportunity(o) for o in opportunities])
    keys = []
    for event in events:
        parts = event.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        keys.append((int(parts[1]), parts[2]))
    date = portfolio.props_filter.get("date")
    histories = prediction_selectors.stat_histories(
        player_ids={player for player, _ in keys},
        stats={stat for _, stat in keys},
        before=dt.date.fromisoformat(date) if date else None,
    )
    correlation, _ = engine.estimate_correlation([histories.get(key, {}) for key in keys])
    return correlation


def _engine_opportunity(row: Opportunity) -> engine.Opportunity:
    return engine.Opportunity(
        key=str(row.pk),
        decimal_odds=row.decimal_odds,
        probability=row.probability,
        p_push=row.p_push,
        event=row.event,
        side=row.side,
        game=row.game,
        book_max=float(row.book_max) if row.book_max is not None else None,
    )


def portfolio_optimize(
    *, portfolio: Portfolio, user, reason: str = "manual", seed: int = 0, details: dict | None = None
) -> OptimizationRun:
    """Queue an optimization run as a job (progress on ``jobs.{id}``)."""
    with transaction.atomic():
        job = jobs.job_create(kind="portfolio.optimize", owner=user, params={"portfolio_id": portfolio.pk})
        run = OptimizationRun.objects.create(
            portfolio=portfolio, job=job, seed=seed, reason=reason, details=details or {}
        )
        transaction.on_commit(lambda: optimize_portfolio_task.delay(run.pk))
    return run


def optimization_run_execute(*, run_id: int) -> None:
    """The job's work: load, optimize, store the report, publish on ``portfolio.{id}``.
    Idempotent: a run that finished is not run again."""
    run = OptimizationRun.objects.select_related("portfolio").get(pk=run_id)
    if run.status in (OptimizationRun.Status.SUCCEEDED, OptimizationRun.Status.FAILED):
        return
    portfolio = run.portfolio
    rows = list(portfolio.opportunities.all())
    current = _accepted_stakes(portfolio, rows)

    def work(progress):
        OptimizationRun.objects.filter(pk=run.pk).update(status=OptimizationRun.Status.RUNNING)
        limits = engine.Limits(bankroll=float(portfolio.bankroll), **portfolio.limits)
        with threadpool_limits(1):
            report = engine.optimize(
                [_engine_opportunity(o) for o in rows],
                limits,
                portfolio_correlation(portfolio, rows),
                settings=engine.RunSettings(
                    n_scenarios=RUN_SETTINGS.n_scenarios, oos_scenarios=RUN_SETTINGS.oos_scenarios, seed=run.seed
                ),
                current_stakes=current,
                progress=progress,
            )
        result = report.as_dict()
        result["opportunity_ids"] = [o.pk for o in rows]
        return result

    job = jobs.job_run(job_id=run.job_id, work=work) if run.job_id else None
    status = OptimizationRun.Status.SUCCEEDED if job and job.status == "succeeded" else OptimizationRun.Status.FAILED
    with transaction.atomic():
        OptimizationRun.objects.filter(pk=run.pk).update(
            status=status,
            report=job.result if job and status == "succeeded" else None,
            error=(job.error if job else "not run"),
            finished_at=timezone.now(),
        )
        live.publish(
            f"portfolio.{portfolio.pk}",
            "allocation" if status == "succeeded" else "run_failed",
            {
                "run_id": run.pk,
                "status": status,
                "reason": run.reason,
                "details": run.details,
                "stakes": (job.result or {}).get("stakes") if job and job.result else None,
                "previous_stakes": None if current is None else [float(x) for x in current],
            },
        )


def _accepted_stakes(portfolio: Portfolio, rows: list[Opportunity]) -> np.ndarray | None:
    """The stakes of the latest accepted allocation, aligned with ``rows`` (the warm start)."""
    accepted = OptimizationRun.objects.filter(portfolio=portfolio, accepted_at__isnull=False).first()
    if accepted is None or not accepted.report:
        return None
    by_id = dict(zip(accepted.report["opportunity_ids"], accepted.report["stakes"], strict=True))
    return np.array([by_id.get(row.pk, 0.0) for row in rows], dtype=float)


def portfolios_rebalance_on_ticks(*, tick_ids: list[int]) -> dict:
    """Odds ticks → reprice the matching opportunities of auto-rebalance portfolios (same book,
    same line) and queue a warm-started run for each portfolio that moved; the run publishes
    the new allocation on ``portfolio.{id}`` with what moved. Idempotent: a tick that changes
    no price queues nothing."""
    from live.services import odds_ticks_get

    latest: dict[str, dict] = {}
    for tick in odds_ticks_get(ids=tick_ids):
        key = market_key(
            sport=tick["sport"], game=tick["game"], player=tick["player_id"], stat=tick["stat"], book=tick["book"]
        )
        latest[key] = tick
    if not latest:
        return {"portfolios": 0, "moved": 0}
    rows = list(
        Opportunity.objects.filter(portfolio__auto_rebalance=True, market__in=list(latest)).select_related(
            "portfolio__owner"
        )
    )
    moved: dict[int, list[dict]] = {}
    changed = []
    for row in rows:
        tick = latest[row.market]
        if row.line is None or abs(tick["line"] - row.line) > 1e-9:
            continue  # another line: our probability does not apply to it
        new_odds = tick["over_odds"] if row.side == "over" else tick["under_odds"]
        if abs(new_odds - row.decimal_odds) < 1e-9:
            continue
        book = engine.devig([tick["over_odds"], tick["under_odds"]], method=row.portfolio.devig_method)
        moved.setdefault(row.portfolio_id, []).append(
            {
                "opportunity_id": row.pk,
                "description": row.description,
                "old_odds": row.decimal_odds,
                "new_odds": new_odds,
                "tick_id": tick["id"],
            }
        )
        row.decimal_odds = new_odds
        row.book_probability = float(book[0] if row.side == "over" else book[1])
        row.edge = engine.edge(probability=row.probability, decimal_odds=new_odds)
        row.kelly_fraction = engine.kelly_fraction(
            probability=row.probability, decimal_odds=new_odds, p_push=row.p_push
        )
        changed.append(row)
    portfolios = {row.portfolio_id: row.portfolio for row in changed}
    with transaction.atomic():
        Opportunity.objects.bulk_update(changed, ["decimal_odds", "book_probability", "edge", "kelly_fraction"])
        for portfolio_id, items in moved.items():
            portfolio = portfolios[portfolio_id]
            portfolio_optimize(portfolio=portfolio, user=portfolio.owner, reason="odds moved", details={"moved": items})
    return {"portfolios": len(moved), "moved": len(changed)}


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
        win = (Decimal(str(bet.decimal_odds)) - 1) * bet.stake
        bet.profit = {"won": win, "lost": -bet.stake}.get(status, Decimal("0")).quantize(CENT)
        bet.status = status
        bet.settled_at = timezone.now()
        bet.save(update_fields=["status", "profit", "settled_at"])
        audit_record(
            actor=user, action="portfolio.bet_settle", obj=bet, after={"status": status, "profit": str(bet.profit)}
        )
    return bet


def pnl_summary(*, bets: list[Bet], bankroll: Decimal) -> dict:
    """ROI (profit / bankroll), yield (profit / staked), maximum drawdown of the bankroll path."""
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
        "bankroll_path": path,
    }
