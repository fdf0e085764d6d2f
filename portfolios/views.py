"""Web pages: the builder, the user's portfolios, one portfolio with its allocation and bets."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from a1site.core.errors import ApplicationError
from predictions import selectors as prediction_selectors

from . import charts, selectors, services
from .api.serializers import PortfolioCreateSerializer, portfolio_create_arguments
from .engine import METHODS

LIMIT_FIELDS = ("max_exposure", "max_per_bet", "max_per_game", "kelly_fraction", "max_bets", "min_stake", "increment")
DEFAULTS = {
    "name": "Tonight",
    "bankroll": "1000",
    "sport": "",
    "date": "",
    "min_edge": "0",
    "max_exposure": "0.5",
    "max_per_bet": "0.1",
    "max_per_game": "0.25",
    "kelly_fraction": "0.5",
    "max_bets": "8",
    "min_stake": "5",
    "increment": "1",
    "devig_method": "multiplicative",
}


def _form_data(form: dict) -> dict:
    """The builder's flat form as the API's portfolio request (blank fields left out; the page
    asks for the minimum edge in percent)."""

    def given(names) -> dict:
        return {name: form[name].strip() for name in names if (form.get(name) or "").strip()}

    return {
        "name": form.get("name") or "Portfolio",
        "bankroll": form.get("bankroll"),
        "devig_method": form.get("devig_method"),
        "limits": given(LIMIT_FIELDS),
        # The builder takes the whole slate (up to the filter's maximum, 500 props).
        "props_filter": {**given(("sport", "date", "min_edge")), "limit": 500},
    }


def _field_errors(errors) -> dict[str, list[str]]:
    """A serializer's errors by the form's own field names (the nested limits and filter)."""
    flat: dict[str, list[str]] = {}
    for name, messages in errors.items():
        if isinstance(messages, dict):
            flat.update(_field_errors(messages))
        else:
            flat[name] = [str(message) for message in messages]
    return flat


@login_required
def portfolio_list_page(request):
    return render(request, "portfolios/list.html", {"portfolios": selectors.portfolio_list(owner=request.user)[:200]})


@login_required
def portfolio_new_page(request):
    """The builder: a slate (sport, date, minimum edge), the bankroll, limits and de-vig method."""
    form = {**DEFAULTS, **request.POST.dict()} if request.method == "POST" else dict(DEFAULTS)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = PortfolioCreateSerializer(data=_form_data(form))
        if data.is_valid():
            values = data.validated_data
            if "props_filter" in values:
                values["props_filter"]["min_edge"] /= 100.0
            try:
                portfolio = services.portfolio_create(owner=request.user, **portfolio_create_arguments(values))
                services.portfolio_optimize(portfolio=portfolio, user=request.user)
                return redirect("portfolios:detail", portfolio_id=portfolio.pk)
            except ApplicationError as error:
                errors = error.fields or {"non_field_errors": [error.message]}
        else:
            errors = _field_errors(data.errors)
    return render(
        request,
        "portfolios/new.html",
        {
            "form": form,
            "errors": errors,
            "methods": METHODS,
            "sports": prediction_selectors.sport_list(),
        },
    )


@login_required
def portfolio_page(request, portfolio_id):
    return _detail(request, _owned(request, portfolio_id))


@login_required
@require_POST
def portfolio_backtest(request, portfolio_id):
    """Queue a walk-forward backtest (and its stress run) from the page's form."""
    portfolio = _owned(request, portfolio_id)
    form = {name: (request.POST.get(name) or "").strip() for name in ("start", "end")}
    errors: dict[str, list[str]] = {}
    dates = {}
    for name, value in form.items():
        try:
            dates[name] = dt.date.fromisoformat(value)
        except ValueError:
            errors[name] = ["a date, YYYY-MM-DD"]
    if not errors:
        try:
            services.portfolio_backtest(portfolio=portfolio, user=request.user, **dates)
            return redirect("portfolios:detail", portfolio_id=portfolio.pk)
        except ApplicationError as error:
            errors = error.fields or {"non_field_errors": [error.message]}
    return _detail(request, portfolio, backtest_form=form, backtest_errors=errors)


# How each limit reads on the page: its label and whether it is a share of the bankroll.
_LIMIT_LABELS = {
    "max_exposure": ("exposure", True),
    "max_per_bet": ("per bet", True),
    "max_per_game": ("per game", True),
    "kelly_fraction": ("Kelly fraction", False),
    "max_bets": ("at most K bets", False),
    "min_stake": ("minimum stake", False),
    "increment": ("increment", False),
}


def _limits_text(limits: dict) -> str:
    """``exposure 50 %, per bet 10 %, …`` in the order of the builder's form."""
    parts = []
    for name, (label, share) in _LIMIT_LABELS.items():
        value = limits.get(name)
        if value is not None:
            parts.append(f"{label} {value * 100:g} %" if share else f"{label} {value:g}")
    parts += [f"{name} {value}" for name, value in limits.items() if name not in _LIMIT_LABELS]
    return ", ".join(parts) or "none"


def _owned(request, portfolio_id):
    portfolio = selectors.portfolio_get(owner=request.user, portfolio_id=portfolio_id)
    if portfolio is None:
        raise Http404
    return portfolio


def _detail(request, portfolio, *, backtest_form=None, backtest_errors=None):
    latest = selectors.run_list(portfolio_id=portfolio.pk).first()
    run = selectors.run_list(portfolio_id=portfolio.pk).filter(status="succeeded").first()
    opportunities = list(portfolio.opportunities.all())
    rows, chart = [], ""
    if run and run.report:
        stakes = dict(zip(run.report["opportunity_ids"], run.report["stakes"], strict=True))
        kelly = dict(zip(run.report["opportunity_ids"], run.report["independent_kelly_stakes"], strict=True))
        rows = [(o, stakes.get(o.pk, 0.0), kelly.get(o.pk, 0.0)) for o in opportunities]
        chart = mark_safe(charts.allocation_svg([(o.description, s, k) for o, s, k in rows]))  # noqa: S308 - escaped
    bets = list(selectors.bet_list(portfolio_id=portfolio.pk))
    pnl = services.pnl_summary(bets=bets, bankroll=portfolio.bankroll)
    backtest = _backtest(request.user, portfolio)
    running = ("queued", "running")
    return render(
        request,
        "portfolios/detail.html",
        {
            "portfolio": portfolio,
            "limits": _limits_text(portfolio.limits or {}),
            "run": run,
            "latest": latest,
            "rows": rows,
            "chart": chart,
            "bets": bets,
            "pnl": pnl,
            "bankroll_chart": _bankroll_chart(bets, pnl),
            "simulated": _simulated(portfolio),
            **backtest,
            "backtest_form": backtest_form or _backtest_defaults(portfolio),
            "backtest_errors": backtest_errors or {},
            "watch_jobs": (latest is not None and latest.status in running)
            or (backtest["backtest_latest"] is not None and backtest["backtest_latest"].status in running),
        },
    )


def _backtest_defaults(portfolio) -> dict:
    """The week before the portfolio's slate date (or before today)."""
    day = (portfolio.props_filter or {}).get("date")
    end = dt.date.fromisoformat(day) - dt.timedelta(days=1) if day else timezone.localdate() - dt.timedelta(days=1)
    return {"start": (end - dt.timedelta(days=6)).isoformat(), "end": end.isoformat()}


def _bankroll_chart(bets, pnl: dict) -> str:
    """The bankroll after each settled bet, in settlement order (the path of the P&L figures)."""
    settled = sorted(b.settled_at for b in bets if b.settled_at is not None)
    if not settled:
        return ""
    svg = charts.bankroll_svg(
        [("bankroll", pnl["bankroll_path"])],
        title=f"Bankroll after each of {len(settled)} settled bet(s)",
        testid="bankroll-chart",
        x_labels=("start", f"{timezone.localtime(settled[-1]):%Y-%m-%d %H:%M}"),
    )
    return mark_safe(svg)  # noqa: S308 - the chart escapes its text


def _backtest(user, portfolio) -> dict:
    """The newest backtest job (running or not) and the newest finished one, with its chart."""
    jobs = selectors.backtest_jobs(owner=user, portfolio_id=portfolio.pk)
    latest, done = jobs.first(), jobs.filter(status="succeeded").first()
    chart, summary = "", []
    if done and done.result:
        base, stress = done.result["base"], done.result["stress"]
        days = base["days"]
        chart = mark_safe(  # noqa: S308 - the chart escapes its text
            charts.bankroll_svg(
                [
                    ("base", base["bankroll_path"]),
                    (f"odds {stress['odds_worse_pct']:g} % worse", stress["bankroll_path"]),
                ],
                title=f"Walk-forward backtest, {len(days)} day(s) with a settled slate",
                testid="backtest-chart",
                x_labels=(f"before {days[0]['date']}", days[-1]["date"]) if days else ("", ""),
            )
        )
        summary = [("Base", base), (f"Odds {stress['odds_worse_pct']:g} % worse", stress)]
    return {"backtest_latest": latest, "backtest_done": done, "backtest_chart": chart, "backtest_summary": summary}


def _simulated(portfolio) -> bool:
    """Whether the slate the portfolio is built from is a simulated sport's."""
    sport = (portfolio.props_filter or {}).get("sport")
    if not portfolio.props_filter:
        return False
    sports = prediction_selectors.sport_list()
    if sport:
        sports = sports.filter(code=sport)
    return any(s.simulated for s in sports)


@login_required
@require_POST
def portfolio_accept(request, portfolio_id, run_id):
    if selectors.run_get(owner=request.user, portfolio_id=portfolio_id, run_id=run_id) is None:
        raise Http404
    services.allocation_accept(run_id=run_id, user=request.user)
    return redirect("portfolios:detail", portfolio_id=portfolio_id)
