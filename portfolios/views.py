"""Web pages: the user's portfolios, and one portfolio with its latest allocation and bets."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from . import selectors, services


@login_required
def portfolio_list_page(request):
    return render(request, "portfolios/list.html", {"portfolios": selectors.portfolio_list(owner=request.user)[:200]})


@login_required
def portfolio_page(request, portfolio_id):
    portfolio = selectors.portfolio_get(owner=request.user, portfolio_id=portfolio_id)
    if portfolio is None:
        raise Http404
    run = selectors.run_list(portfolio_id=portfolio.pk).filter(status="succeeded").first()
    opportunities = list(portfolio.opportunities.all())
    rows = []
    if run and run.report:
        stakes = dict(zip(run.report["opportunity_ids"], run.report["stakes"], strict=True))
        rows = [(o, stakes.get(o.pk, 0.0)) for o in opportunities]
    bets = list(selectors.bet_list(portfolio_id=portfolio.pk))
    return render(
        request,
        "portfolios/detail.html",
        {
            "portfolio": portfolio,
            "run": run,
            "rows": rows,
            "opportunities": opportunities,
            "bets": bets,
            "pnl": services.pnl_summary(bets=bets, bankroll=portfolio.bankroll),
        },
    )
