"""Optimization runs: as jobs on Celery, warm-started from the accepted allocation, and
rebalanced when odds ticks move an auto-rebalance portfolio's prices."""

from __future__ import annotations

import datetime as dt
import functools
import logging

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

import live
from a1site.jobs import services as jobs
from live.services import odds_ticks_get
from predictions import selectors as prediction_selectors

from .. import engine
from ..models import Opportunity, OptimizationRun, Portfolio
from .building import market_key

# The optimization task (portfolios.tasks), queued by its stable name: services import no task.
OPTIMIZE_TASK = "portfolios.optimize"

logger = logging.getLogger(__name__)

RUN_SETTINGS = engine.RunSettings(n_scenarios=20_000, oos_scenarios=50_000)
# The reason of the runs that odds ticks queue: these publish first and compute the
# out-of-sample figures after (the report says "deferred" until then).
REBALANCE_REASON = "odds moved"
# Scenario draws of this process's recent runs, by their inputs (the same seed and inputs give
# the same draws, so reusing them changes no number); a price tick rebuilds only its columns.
SCENARIO_CACHE = engine.ScenarioCache(max_bytes=settings.PORTFOLIO_SCENARIO_CACHE_MB << 20)


def portfolio_correlation(portfolio: Portfolio, opportunities: list[Opportunity]) -> np.ndarray | None:
    """Between the events of slate props, from the players' stored stat lines; None (independent)
    for explicit lists."""
    events, _ = engine.event_index([_engine_opportunity(o) for o in opportunities])
    date = portfolio.props_filter.get("date")
    return event_correlation(events, before=dt.date.fromisoformat(date) if date else None)


def event_correlation(events: list[str], *, before: dt.date | None) -> np.ndarray | None:
    """Correlations between slate events ("game:player:stat") from the players' stat lines
    before ``before``; None when an event is not a slate prop."""
    keys = []
    for event in events:
        parts = event.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        keys.append((int(parts[1]), parts[2]))
    histories = prediction_selectors.stat_histories(
        player_ids={player for player, _ in keys}, stats={stat for _, stat in keys}, before=before
    )
    return _estimated_correlation(tuple(tuple(sorted(histories.get(key, {}).items())) for key in keys))


# The estimate takes ~40 ms for 25 events (one Pearson fit per pair) and depends only on the
# histories, which a rebalance reads unchanged on every tick. Keyed by the histories themselves
# (compared in full on a hit), so a new or corrected stat line gives a new estimate. Read-only:
# one array serves every caller.
@functools.lru_cache(maxsize=16)
def _estimated_correlation(histories: tuple[tuple[tuple[int, float], ...], ...]) -> np.ndarray:
    correlation, _ = engine.estimate_correlation([dict(history) for history in histories])
    correlation.flags.writeable = False
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
        jobs.job_queue_on_commit(job, task=OPTIMIZE_TASK, args=[run.pk])
    return run


def optimization_run_execute(*, run_id: int) -> None:
    """The job's work: load, optimize, store the report, publish on ``portfolio.{id}``.
    A rebalance (odds moved) publishes before its out-of-sample check, then stores it.
    Idempotent: a run that finished is not run again."""
    run = OptimizationRun.objects.select_related("portfolio").get(pk=run_id)
    if run.status in (OptimizationRun.Status.SUCCEEDED, OptimizationRun.Status.FAILED):
        return
    portfolio = run.portfolio
    rows = list(portfolio.opportunities.all())
    current = _accepted_stakes(portfolio, rows)
    defer_oos = run.reason == REBALANCE_REASON
    inputs: dict = {}

    def work(progress):
        OptimizationRun.objects.filter(pk=run.pk).update(status=OptimizationRun.Status.RUNNING)
        inputs["opportunities"] = [_engine_opportunity(o) for o in rows]
        inputs["limits"] = engine.Limits(bankroll=float(portfolio.bankroll), **portfolio.limits)
        inputs["correlation"] = portfolio_correlation(portfolio, rows)
        inputs["settings"] = engine.RunSettings(
            n_scenarios=RUN_SETTINGS.n_scenarios, oos_scenarios=RUN_SETTINGS.oos_scenarios, seed=run.seed
        )
        with threadpool_limits(1):
            report = engine.optimize(
                inputs["opportunities"],
                inputs["limits"],
                inputs["correlation"],
                settings=inputs["settings"],
                current_stakes=current,
                progress=progress,
                scenario_cache=SCENARIO_CACHE,
                out_of_sample_now=not defer_oos,
            )
        result = report.as_dict()
        result["opportunity_ids"] = [o.pk for o in rows]
        return result

    job = jobs.job_run(job_id=run.job_id, work=work) if run.job_id else None
    status = OptimizationRun.Status.SUCCEEDED if job and job.status == "succeeded" else OptimizationRun.Status.FAILED
    report = job.result if job and status == "succeeded" else None
    with transaction.atomic():
        OptimizationRun.objects.filter(pk=run.pk).update(
            status=status,
            report=report,
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
    if report is not None and report.get("oos_status") == "deferred":
        _out_of_sample_store(run_id=run.pk, report=report, inputs=inputs)


def _out_of_sample_store(*, run_id: int, report: dict, inputs: dict) -> None:
    """The deferred out-of-sample figures of a published run, into its report: the numbers an
    undeferred run gives (same seed, same fresh scenarios). A failure is logged and the report
    says "failed" rather than keep "deferred" for ever."""
    try:
        with threadpool_limits(1):
            oos = engine.out_of_sample(
                inputs["opportunities"],
                inputs["limits"],
                inputs["correlation"],
                np.asarray(report["fractions"], dtype=float),
                in_sample_growth=report["expected_log_growth"],
                settings=inputs["settings"],
                scenario_cache=SCENARIO_CACHE,
            )
    except Exception:
        logger.exception("out-of-sample check failed", extra={"run_id": run_id})
        report = {**report, "oos_status": "failed"}
    else:
        report = {
            **report,
            "oos_growth": oos.growth,
            "oos_independent_kelly_growth": oos.independent_kelly_growth,
            "oos_growth_loss_pct": oos.growth_loss_pct,
            "oos_status": "computed",
            "oos_scenarios": oos.n_scenarios,
            "oos_seconds": oos.seconds,
        }
    OptimizationRun.objects.filter(pk=run_id).update(report=report)


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
            portfolio_optimize(
                portfolio=portfolio, user=portfolio.owner, reason=REBALANCE_REASON, details={"moved": items}
            )
    return {"portfolios": len(moved), "moved": len(changed)}
