"""Bets placed from slate props settle from the stored results (the predictions grading rule)
with their closing line value; the P&L follows."""

import datetime as dt

import pytest
from django.utils import timezone

from portfolios import services
from portfolios.engine import devig
from portfolios.models import Bet, Opportunity
from tests.predictions.factories import GameFactory, PlayerFactory, PropLineFactory, ResultFactory

pytestmark = pytest.mark.django_db


def test_open_slate_bets_settle_from_results_with_clv(user, django_capture_on_commit_callbacks):
    game = GameFactory()
    players = [PlayerFactory(sport=game.sport, team=None) for _ in range(3)]
    early = timezone.now() - dt.timedelta(hours=3)
    props = [
        PropLineFactory(game=game, player=p, line=19.5, seen_at=early, over_decimal_odds=2.1, under_decimal_odds=1.8)
        for p in players
    ]
    # The closing quote of the first prop moved against the over.
    PropLineFactory(
        game=game,
        player=players[0],
        line=19.5,
        over_decimal_odds=1.7,
        under_decimal_odds=2.2,
        seen_at=early + dt.timedelta(hours=2),
    )
    bets = [
        {"description": f"P{i} over 19.5", "decimal_odds": 2.1, "probability": 0.56, "event": f"e{i}"} for i in range(3)
    ]
    portfolio = services.portfolio_create(
        owner=user, name="s", bankroll=1000, limits={"max_exposure": 0.5}, opportunities=bets
    )
    rows = list(Opportunity.objects.filter(portfolio=portfolio).order_by("position"))
    for row, prop in zip(rows, props, strict=True):
        row.prop_line_id = prop.pk
        row.save(update_fields=["prop_line_id"])
    with django_capture_on_commit_callbacks(execute=True):
        run = services.portfolio_optimize(portfolio=portfolio, user=user)
    placed = services.allocation_accept(run_id=run.pk, user=user)
    assert len(placed) == 3
    ResultFactory(game=game, player=players[0], value=25)  # over wins
    ResultFactory(game=game, player=players[1], value=12)  # over loses
    # players[2] has no result yet: stays open.

    summary = services.bets_settle_from_results(portfolio_id=portfolio.pk)
    assert summary == {"open": 3, "settled": 2}
    assert services.bets_settle_from_results(portfolio_id=portfolio.pk)["settled"] == 0
    by_prop = {b.opportunity.prop_line_id: b for b in Bet.objects.select_related("opportunity")}
    won, lost, still_open = (by_prop[p.pk] for p in props)
    assert (won.status, lost.status, still_open.status) == ("won", "lost", "open")
    assert float(won.profit) == pytest.approx(float(won.stake) * 1.1, abs=0.01)
    assert float(lost.profit) == -float(lost.stake)
    closing_over = devig([1.7, 2.2], method="multiplicative")[0]
    assert won.clv == pytest.approx(closing_over * 2.1 - 1)
    assert lost.clv == pytest.approx(devig([2.1, 1.8], method="multiplicative")[0] * 2.1 - 1)
    pnl = services.pnl_summary(bets=list(Bet.objects.all()), bankroll=portfolio.bankroll)
    assert pnl["settled"] == 2 and pnl["open"] == 1
    assert pnl["mean_clv"] == pytest.approx((won.clv + lost.clv) / 2)
