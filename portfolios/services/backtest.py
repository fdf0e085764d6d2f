"""Walk-forward backtest over past slates: each day the slate's props with our predictions
are optimized with the bankroll carried forward (correlations from stat lines before that
day), the stakes settle from the stored results, and a stress run takes every price 2 % worse."""

from __future__ import annotations

import datetime as dt

import numpy as np
from threadpoolctl import threadpool_limits

from a1site.core.errors import ApplicationError
from a1site.jobs import services as jobs
from a1site.jobs.selectors import job_get
from predictions import selectors as prediction_selectors

from .. import engine
from ..models import Portfolio
from ..selectors import BACKTEST_JOB_KIND
from .building import slate_opportunities
from .runs import event_correlation

MAX_DAYS = 62
STRESS_ODDS_WORSE_PCT = 2.0

# The backtest task (portfolios.tasks), queued by its stable name: services import no task.
BACKTEST_TASK = "portfolios.backtest"


def backtest_walk_forward(
    *,
    portfolio: Portfolio,
    dates: list[dt.date],
    odds_worse_pct: float = 0.0,
    n_scenarios: int = 5_000,
    progress=None,
) -> dict:
    """The bankroll path of the portfolio's rules over ``dates`` (days without a settled slate
    are skipped). ``odds_worse_pct`` shortens every decimal price by that share."""
    bankroll = float(portfolio.bankroll)
    rules = dict(portfolio.limits)
    factor = 1.0 - odds_worse_pct / 100.0
    path, days = [bankroll], []
    for index, date in enumerate(sorted(dates)):
        if progress:
            progress(index / max(len(dates), 1), f"backtest {date.isoformat()}")
        rows = slate_opportunities({**portfolio.props_filter, "date": date.isoformat()}, method=portfolio.devig_method)
        settled = prediction_selectors.prop_settlements(prop_line_ids={row["prop_line_id"] for row in rows})
        rows = [r for r in rows if settled.get(r["prop_line_id"], {}).get("outcome") is not None]
        if not rows:
            continue
        odds = [max(1.0001, r["decimal_odds"] * factor) for r in rows]
        opportunities = [
            engine.Opportunity(
                key=str(i),
                decimal_odds=o,
                probability=r["probability"],
                p_push=r["p_push"],
                event=r["event"],
                side=r["side"],
                game=r["game"],
            )
            for i, (r, o) in enumerate(zip(rows, odds, strict=True))
        ]
        try:
            limits = engine.Limits(bankroll=bankroll, **rules)
        except ValueError:
            break  # the bankroll fell below what the rules can bet
        events, _ = engine.event_index(opportunities)
        with threadpool_limits(1):
            report = engine.optimize(
                opportunities,
                limits,
                event_correlation(events, before=date),
                settings=engine.RunSettings(n_scenarios=n_scenarios, oos_scenarios=n_scenarios, seed=index),
            )
        profit = 0.0
        for row, price, stake in zip(rows, odds, report.stakes, strict=True):
            result = settled[row["prop_line_id"]]["outcome"]
            if stake <= 0 or result in ("push", "void"):
                continue
            profit += stake * (price - 1.0) if result == row["side"] else -stake
        bankroll += profit
        path.append(bankroll)
        days.append(
            {
                "date": date.isoformat(),
                "bets": sum(1 for s in report.stakes if s > 0),
                "staked": float(sum(report.stakes)),
                "profit": profit,
                "bankroll": bankroll,
                "expected_log_growth": report.expected_log_growth,
            }
        )
    peak = np.maximum.accumulate(np.array(path))
    return {
        "odds_worse_pct": odds_worse_pct,
        "days": days,
        "bankroll_path": path,
        "final_bankroll": bankroll,
        "roi": (bankroll - path[0]) / path[0],
        "max_drawdown": float(np.max((peak - np.array(path)) / peak)),
        "staked": float(sum(d["staked"] for d in days)),
    }


def portfolio_backtest(*, portfolio: Portfolio, user, start: dt.date, end: dt.date):
    """Queue the backtest (base and 2 %-worse-odds stress) as a job."""
    if end < start:
        raise ApplicationError("end is before start.", fields={"end": ["must be on or after start"]})
    if (end - start).days + 1 > MAX_DAYS:
        raise ApplicationError("Too long a backtest.", fields={"end": [f"at most {MAX_DAYS} days"]})
    if not portfolio.props_filter:
        raise ApplicationError("A backtest needs a portfolio built from a slate.", fields={"props_filter": ["empty"]})
    job = jobs.job_create(
        kind=BACKTEST_JOB_KIND,
        owner=user,
        params={"portfolio_id": portfolio.pk, "start": start.isoformat(), "end": end.isoformat()},
    )
    jobs.job_queue_on_commit(job, task=BACKTEST_TASK)
    return job


def backtest_job_execute(*, job_id: str) -> None:
    job = job_get(job_id=job_id)
    portfolio = Portfolio.objects.get(pk=job.params["portfolio_id"])
    start = dt.date.fromisoformat(job.params["start"])
    end = dt.date.fromisoformat(job.params["end"])
    dates = [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]

    def work(progress):
        base = backtest_walk_forward(portfolio=portfolio, dates=dates, progress=lambda f, m: progress(f / 2, m))
        stress = backtest_walk_forward(
            portfolio=portfolio,
            dates=dates,
            odds_worse_pct=STRESS_ODDS_WORSE_PCT,
            progress=lambda f, m: progress(0.5 + f / 2, f"stress: {m}"),
        )
        return {"base": base, "stress": stress}

    jobs.job_run(job_id=job_id, work=work)
