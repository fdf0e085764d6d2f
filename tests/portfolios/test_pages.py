"""The portfolio pages: the navigation entry is live, others' portfolios are 404, the detail
page shows the allocation, the chart and the P&L."""

import pytest

from portfolios import services

pytestmark = pytest.mark.django_db

BETS = [
    {"description": "A over", "decimal_odds": 2.1, "probability": 0.55, "event": "a", "game": "g1"},
    {"description": "B over", "decimal_odds": 1.95, "probability": 0.56, "event": "b", "game": "g1"},
]


@pytest.fixture
def logged_in(client, user, password):
    client.login(username=user.get_username(), password=password)
    return client


def test_navigation_links_to_portfolios(logged_in):
    body = logged_in.get("/").content.decode()
    assert 'href="/portfolios/"' in body


def test_another_users_portfolio_page_is_404(logged_in, other_user):
    theirs = services.portfolio_create(owner=other_user, name="x", bankroll=100, limits={}, opportunities=BETS)
    assert logged_in.get(f"/portfolios/{theirs.pk}/").status_code == 404


def test_detail_shows_the_allocation_and_chart(logged_in, user, django_capture_on_commit_callbacks):
    portfolio = services.portfolio_create(
        owner=user, name="mine", bankroll=1000, limits={"max_exposure": 0.3}, opportunities=BETS
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.portfolio_optimize(portfolio=portfolio, user=user)
    body = logged_in.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert 'data-testid="allocation-chart"' in body
    assert body.count('data-testid="allocation-row"') == 2
    assert "Independent Kelly, scaled to the limits" in body
    # The limits read as a person would say them, not as a Python dict.
    assert "limits: exposure 30 %" in body and "{" not in body.split("limits:")[1].split("</p>")[0]


def test_builder_rejects_a_negative_bankroll_naming_it(logged_in):
    response = logged_in.post("/portfolios/new/", {"name": "x", "bankroll": "-1", "max_exposure": "0.5"})
    assert response.status_code == 200
    assert "bankroll" in response.content.decode()
