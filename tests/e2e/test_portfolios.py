"""The portfolio builder in Chromium: pick a predicted slate and limits, run, see the allocation,
accept it, see the bankroll chart once the bets settle and the backtest chart from the form."""

import pytest

from portfolios import services as portfolio_services
from portfolios.models import Bet
from predictions import services
from tests.e2e.test_live import asgi_live_server  # noqa: F401 - fixture
from tests.portfolios.test_backtest import play_the_slate
from tests.predictions.conftest import (  # noqa: F401 - fixtures
    _fresh_inference_service,
    _media,
    mini_league,
    nba_points_training,
    register_models,
    served,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_builder_runs_and_shows_the_allocation(page, live_server, served, user, login, screenshot):  # noqa: F811
    date = served["upcoming"][0].date
    services.slate_predict(sport="nba", date=date)
    login(user)
    page.click("nav >> text=Portfolios")
    page.click('[data-testid="new-portfolio"]')
    page.select_option('select[name="sport"]', "nba")
    page.fill('input[name="date"]', date.isoformat())
    page.fill('input[name="min_edge"]', "-100")
    page.fill('input[name="max_bets"]', "4")
    page.select_option('select[name="devig_method"]', "shin")
    screenshot("portfolio_builder")
    page.click('[data-testid="run"]')
    page.wait_for_selector('[data-testid="allocation"]', timeout=60_000)
    rows = page.locator('[data-testid="allocation-row"]')
    assert rows.count() == 40
    stakes = [float(text) for text in page.locator('[data-testid="stake"]').all_inner_texts()]
    placed = [s for s in stakes if s > 0]
    assert 0 < len(placed) <= 4
    assert all(s >= 5 and s.is_integer() for s in placed)
    assert page.locator('[data-testid="allocation-chart"] rect.stake').count() >= len(placed)
    assert "Independent Kelly" in page.inner_text('[data-testid="risk"]')
    screenshot("portfolio_allocation")
    page.click('[data-testid="accept"]')
    page.wait_for_selector('[data-testid="bets"] td')
    assert Bet.objects.filter(portfolio__owner=user).count() == len(placed)
    # Settle them (the first won, the rest lost): the bankroll chart draws the path.
    violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    for index, bet in enumerate(Bet.objects.filter(portfolio__owner=user).order_by("pk")):
        portfolio_services.bet_settle(bet_id=bet.pk, user=user, status="won" if index == 0 else "lost")
    page.reload()
    chart = page.locator('[data-testid="bankroll-chart"]')
    chart.wait_for()
    assert chart.locator("circle.point").count() == len(placed) + 1
    # Styled by static/portfolios/portfolios.css (no style attributes under the CSP).
    line = chart.locator("polyline.series-0")
    assert line.evaluate("e => getComputedStyle(e).stroke") == "rgb(43, 108, 176)"
    assert line.evaluate("e => getComputedStyle(e).fill") == "none"
    assert page.locator('[data-testid="backtest-empty"]').is_visible()
    assert violations == []
    screenshot("portfolio_bankroll_chart")
    # The slate is played; a backtest of its day from the page's form draws base and stress.
    play_the_slate(date)
    page.fill('[data-testid="backtest-form"] input[name="start"]', date.isoformat())
    page.fill('[data-testid="backtest-form"] input[name="end"]', date.isoformat())
    page.click('[data-testid="backtest-run"]')
    backtest = page.locator('[data-testid="backtest-chart"]')
    backtest.wait_for(timeout=60_000)
    assert backtest.locator("polyline.line").count() == 2
    assert "simulated data" in page.inner_text('[data-testid="backtest"]')
    assert violations == []
    screenshot("portfolio_backtest_chart")


def test_builder_names_the_bad_field(page, live_server, served, user, login):  # noqa: F811
    login(user)
    page.goto(f"{live_server.url}/portfolios/new/")
    page.fill('input[name="bankroll"]', "-5")
    page.click('[data-testid="run"]')
    assert "bankroll" in page.inner_text('[data-testid="builder-errors"]')


def test_the_page_says_when_a_new_allocation_arrives(
    browser,
    asgi_live_server,  # noqa: F811 - the fixture imported above
    user,
    password,
    django_capture_on_commit_callbacks,
):
    """A rebalance (here a run queued with what moved) is pushed on portfolio.{id} and the open
    page says so, with a link to the new allocation."""
    from django.test import Client
    from playwright.sync_api import expect

    from tests.e2e.conftest import ARTIFACTS

    bets = [
        {"description": "A over", "decimal_odds": 2.1, "probability": 0.55, "event": "a", "game": "g1"},
        {"description": "B over", "decimal_odds": 1.95, "probability": 0.56, "event": "b", "game": "g2"},
    ]
    portfolio = portfolio_services.portfolio_create(
        owner=user, name="live", bankroll=1000, limits={"max_exposure": 0.3}, opportunities=bets
    )
    with django_capture_on_commit_callbacks(execute=True):
        portfolio_services.portfolio_optimize(portfolio=portfolio, user=user)
    client = Client()
    client.login(username=user.username, password=password)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": asgi_live_server}]
        )
        page = context.new_page()
        page.goto(f"{asgi_live_server}/portfolios/{portfolio.pk}/")
        notice = page.get_by_test_id("portfolio-live")
        expect(notice).to_be_hidden()
        page.wait_for_timeout(1000)  # the page's live client subscribes
        with django_capture_on_commit_callbacks(execute=True):
            portfolio_services.portfolio_optimize(
                portfolio=portfolio, user=user, reason="odds moved", details={"moved": [{"bet": "A over"}]}
            )
        expect(notice).to_contain_text("New allocation", timeout=15_000)
        expect(notice).to_contain_text("1 price(s) moved")
        page.screenshot(path=str(ARTIFACTS / "portfolio_live_notice.png"), full_page=True)
        page.get_by_test_id("portfolio-live-reload").click()
        expect(page.get_by_test_id("portfolio-live")).to_be_hidden()
    finally:
        context.close()
