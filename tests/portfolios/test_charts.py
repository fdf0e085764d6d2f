"""The portfolio page's bankroll and backtest charts (server-side SVG, colours from the static
CSS): points computed from the settled bets, and the empty states."""

import re
from decimal import Decimal

import pytest

from portfolios import charts, selectors, services

pytestmark = pytest.mark.django_db

BETS = [{"description": "A over", "decimal_odds": 2.1, "probability": 0.55, "event": "a", "game": "g1"}]


@pytest.fixture
def logged_in(client, user, password):
    client.login(username=user.get_username(), password=password)
    return client


def series_values(body: str, testid: str) -> dict[str, list[float]]:
    """label → the values drawn, read back from the chart's polylines."""
    svg = re.search(rf'<svg[^>]*data-testid="{testid}".*?</svg>', body, re.S)
    assert svg, f"no {testid} in the page"
    return {
        label: [float(v) for v in values.split()]
        for label, values in re.findall(r'<polyline[^>]*data-series="([^"]*)" data-values="([^"]*)"', svg.group(0))
    }


def test_bankroll_chart_follows_the_settled_bets_in_settlement_order(logged_in, user):
    portfolio = services.portfolio_create(owner=user, name="p", bankroll=1000, limits={}, opportunities=BETS)
    won = services.bet_record(portfolio=portfolio, user=user, description="w", decimal_odds=2.5, stake=Decimal("40"))
    lost = services.bet_record(portfolio=portfolio, user=user, description="l", decimal_odds=1.9, stake=Decimal("25"))
    services.bet_record(portfolio=portfolio, user=user, description="open", decimal_odds=3.0, stake=Decimal("10"))
    services.bet_settle(bet_id=won.pk, user=user, status="won")
    services.bet_settle(bet_id=lost.pk, user=user, status="lost")

    response = logged_in.get(f"/portfolios/{portfolio.pk}/")
    body = response.content.decode()
    drawn = series_values(body, "bankroll-chart")["bankroll"]
    assert drawn == [1000.0, 1060.0, 1035.0]  # +40 x 1.5, then -25; the open bet is not counted
    assert drawn[-1] == float(portfolio.bankroll) + 60 - 25
    assert body.count('class="point series-0"') == 3
    assert 'data-testid="bankroll-chart-empty"' not in body
    # The CSP forbids style attributes: the chart's look comes from the static stylesheet.
    assert "style=" not in body
    assert "portfolios/portfolios.css" in body
    assert "style-src 'self'" in response["Content-Security-Policy"]


def test_empty_states_without_settled_bets_or_backtest(logged_in, user):
    portfolio = services.portfolio_create(owner=user, name="p", bankroll=500, limits={}, opportunities=BETS)
    services.bet_record(portfolio=portfolio, user=user, description="open", decimal_odds=3.0, stake=Decimal("10"))
    body = logged_in.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert 'data-testid="bankroll-chart-empty"' in body
    assert 'data-testid="bankroll-chart"' not in body
    assert 'data-testid="backtest-empty"' in body
    assert 'data-testid="backtest-chart"' not in body
    assert 'data-testid="simulated-label"' not in body  # an explicit list, not a simulated slate


def test_the_backtest_form_queues_a_job_whose_progress_the_page_shows(logged_in, user, other_user):
    portfolio = services.portfolio_create(
        owner=user, name="p", bankroll=500, limits={}, props_filter={"sport": "nba", "date": "2026-11-08"}
    )
    body = logged_in.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert 'data-testid="backtest-form"' in body
    assert 'value="2026-11-01"' in body and 'value="2026-11-07"' in body  # the week before the slate
    response = logged_in.post(f"/portfolios/{portfolio.pk}/backtest/", {"start": "2026-11-01", "end": "2026-11-03"})
    assert response.status_code == 302
    job = selectors.backtest_jobs(owner=user, portfolio_id=portfolio.pk).get()
    assert job.params == {"portfolio_id": portfolio.pk, "start": "2026-11-01", "end": "2026-11-03"}
    body = logged_in.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert f'data-job="{job.pk}"' in body
    assert "2026-11-01 to 2026-11-03: queued" in body
    assert "portfolios/progress.js" in body
    assert 'data-testid="backtest-empty"' not in body
    # Another user's jobs are never this portfolio's backtest.
    assert selectors.backtest_jobs(owner=other_user, portfolio_id=portfolio.pk).count() == 0


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"start": "yesterday", "end": "2026-11-03"}, "start"),
        ({"start": "2026-11-03", "end": "2026-11-01"}, "end"),
        ({"start": "2026-01-01", "end": "2026-11-01"}, "end"),
    ],
)
def test_the_backtest_form_names_the_bad_field_and_queues_nothing(logged_in, user, form, field):
    portfolio = services.portfolio_create(
        owner=user, name="p", bankroll=500, limits={}, props_filter={"sport": "nba", "date": "2026-11-08"}
    )
    response = logged_in.post(f"/portfolios/{portfolio.pk}/backtest/", form)
    assert response.status_code == 200
    errors = re.search(r'data-testid="backtest-errors">(.*?)</div>', response.content.decode(), re.S)
    assert errors and f"<strong>{field}</strong>" in errors.group(1)
    assert not selectors.backtest_jobs(owner=user, portfolio_id=portfolio.pk).exists()


def test_the_backtest_form_refuses_an_explicit_list_and_others_portfolios(logged_in, user, other_user):
    mine = services.portfolio_create(owner=user, name="p", bankroll=500, limits={}, opportunities=BETS)
    body = logged_in.get(f"/portfolios/{mine.pk}/").content.decode()
    assert 'data-testid="backtest-form"' not in body
    response = logged_in.post(f"/portfolios/{mine.pk}/backtest/", {"start": "2026-11-01", "end": "2026-11-01"})
    assert "<strong>props_filter</strong>" in response.content.decode()
    theirs = services.portfolio_create(
        owner=other_user, name="x", bankroll=500, limits={}, props_filter={"sport": "nba", "date": "2026-11-08"}
    )
    response = logged_in.post(f"/portfolios/{theirs.pk}/backtest/", {"start": "2026-11-01", "end": "2026-11-01"})
    assert response.status_code == 404
    assert not selectors.backtest_jobs(owner=user, portfolio_id=theirs.pk).exists()
    assert not selectors.backtest_jobs(owner=other_user, portfolio_id=theirs.pk).exists()


def test_bankroll_svg_scales_every_point_inside_the_plot():
    svg = charts.bankroll_svg(
        [("base", [100.0, 150.0, 80.0]), ("stress", [100.0, 140.0])], title="t <x>", testid="c", x_labels=("a", "b")
    )
    assert "t &lt;x&gt;" in svg
    ys = [float(y) for y in re.findall(r'cy="([0-9.]+)"', svg)]
    xs = [float(x) for x in re.findall(r'cx="([0-9.]+)"', svg)]
    assert min(ys) >= charts.MARGIN_TOP and max(ys) <= charts.CHART_HEIGHT - charts.MARGIN_BOTTOM
    assert min(xs) == charts.MARGIN_LEFT and max(xs) == charts.CHART_WIDTH - charts.MARGIN_RIGHT
    # The highest bankroll is drawn highest (smallest y), the lowest lowest.
    base_ys = ys[:3]
    assert base_ys[1] == min(base_ys) and base_ys[2] == max(base_ys)
    assert charts.bankroll_svg([("base", [100.0])], title="t", testid="c") == ""
