"""Auto-rebalance: an odds tick on a prop of an auto-rebalance portfolio reprices it and a
warm-started run publishes the new allocation on ``portfolio.{id}`` with what moved, then
stores its out-of-sample check."""

import json

import pytest

from live.backends import get_broker
from portfolios import engine, services
from portfolios.models import Opportunity, OptimizationRun
from predictions import services as prediction_services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_broker")]


def messages(topic: str) -> list[dict]:
    return [json.loads(text) for _, text in get_broker().history._rings.get(topic, ())]


def rebalanced(served, user, staff_client, capture):
    """An auto-rebalance portfolio with an accepted run, and the run that a tick shortening its
    best bet to 1.5 queued: (portfolio, accepted run, rebalance run, the moved opportunity)."""
    date = served["upcoming"][0].date
    prediction_services.slate_predict(sport="nba", date=date)
    with capture(execute=True):
        portfolio = services.portfolio_create(
            owner=user,
            name="auto",
            bankroll=1000,
            limits={"max_exposure": 0.5, "max_bets": 4, "increment": 1},
            props_filter={"sport": "nba", "date": date.isoformat(), "min_edge": 0.0},
            auto_rebalance=True,
        )
        first = services.portfolio_optimize(portfolio=portfolio, user=user)
    services.allocation_accept(run_id=first.pk, user=user)
    first.refresh_from_db()
    stakes = dict(zip(first.report["opportunity_ids"], first.report["stakes"], strict=True))
    target = Opportunity.objects.get(pk=max(stakes, key=stakes.get))
    sport, game, player, stat, book = target.market.split(":")
    # The book shortens our best bet to even money: its edge goes.
    over, under = (1.01 + 0.5, 1.9) if target.side == "over" else (1.9, 1.5)
    tick = {
        "ts": "2024-11-15T18:00:00Z",
        "sport": sport,
        "game": game,
        "player": "x",
        "player_id": player,
        "stat": stat,
        "book": book,
        "line": target.line,
        "over_odds": over,
        "under_odds": under,
    }
    with capture(execute=True):
        response = staff_client.post("/api/odds/", {"ticks": [tick]}, format="json")
    assert response.status_code == 201, response.content
    target.refresh_from_db()
    assert target.decimal_odds == (over if target.side == "over" else under)
    run = OptimizationRun.objects.filter(portfolio=portfolio).first()
    return portfolio, first, run, target


def test_an_odds_tick_reprices_and_rebalances_from_the_accepted_allocation(
    served,
    user,
    staff_client,
    django_capture_on_commit_callbacks,
):
    portfolio, first, run, target = rebalanced(served, user, staff_client, django_capture_on_commit_callbacks)
    assert run.pk != first.pk and run.reason == "odds moved" and run.status == "succeeded"
    assert run.details["moved"][0]["opportunity_id"] == target.pk
    new_stakes = dict(zip(run.report["opportunity_ids"], run.report["stakes"], strict=True))
    assert new_stakes[target.pk] == 0.0
    [message] = [m for m in messages(f"portfolio.{portfolio.pk}") if m["data"]["run_id"] == run.pk]
    assert message["type"] == "allocation"
    assert message["data"]["details"]["moved"][0]["new_odds"] == target.decimal_odds
    assert message["data"]["previous_stakes"] is not None
    # The manual run checked out of sample before it finished; the rebalance after publishing
    # (oos_seconds: the deferred check's own time), on the first run's draws (same seed).
    assert first.report["oos_status"] == "computed" and "oos_seconds" not in first.report
    assert run.report["oos_status"] == "computed" and run.report["oos_scenarios"] == services.RUN_SETTINGS.oos_scenarios
    assert run.report["oos_growth"] is not None and run.report["oos_seconds"] > 0
    assert run.report["scenario_draws"] == "cached"


def test_a_failed_out_of_sample_check_leaves_the_published_allocation_and_says_so(
    served, user, staff_client, client, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(*args, **kwargs):
        raise FloatingPointError("out of sample")

    monkeypatch.setattr(engine, "out_of_sample", broken)
    portfolio, _, run, _ = rebalanced(served, user, staff_client, django_capture_on_commit_callbacks)
    assert run.reason == "odds moved" and run.status == "succeeded"
    assert run.report["oos_status"] == "failed" and run.report["oos_growth"] is None
    assert [m["type"] for m in messages(f"portfolio.{portfolio.pk}") if m["data"]["run_id"] == run.pk] == ["allocation"]
    client.force_login(user)
    assert "out-of-sample growth not computed (the check failed)" in client.get(f"/portfolios/{portfolio.pk}/").text
    OptimizationRun.objects.filter(pk=run.pk).update(report={**run.report, "oos_status": "deferred"})
    assert "out-of-sample growth not computed yet" in client.get(f"/portfolios/{portfolio.pk}/").text
