"""The portfolio API end to end through the DRF client: owner only, validation naming the
field, a run as a job, accept idempotent and audited, bets and settlement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from a1site.audit.models import AuditEvent
from a1site.jobs.models import Job
from portfolios.models import Bet

pytestmark = pytest.mark.django_db

BETS = [
    {
        "description": "A over 20.5",
        "decimal_odds": 2.1,
        "other_decimal_odds": 1.75,
        "probability": 0.55,
        "event": "a-points",
        "side": "over",
        "game": "g1",
    },
    {
        "description": "B over 5.5",
        "decimal_odds": 1.95,
        "other_decimal_odds": 1.87,
        "probability": 0.56,
        "event": "b-assists",
        "side": "over",
        "game": "g1",
    },
    {
        "description": "C under 7.5",
        "decimal_odds": 2.3,
        "other_decimal_odds": 1.62,
        "probability": 0.47,
        "event": "c-rebounds",
        "side": "under",
        "game": "g2",
    },
    {
        "description": "D over 1.5",
        "decimal_odds": 1.8,
        "other_decimal_odds": 2.0,
        "probability": 0.5,
        "event": "d-threes",
        "side": "over",
        "game": "g2",
    },
]


def create(client, **overrides):
    body = {
        "name": "Tonight",
        "bankroll": "1000",
        "devig_method": "shin",
        "limits": {"max_exposure": 0.3, "max_per_bet": 0.1, "max_bets": 3, "min_stake": 5, "increment": 1},
        "opportunities": BETS,
    }
    body.update(overrides)
    return client.post("/api/portfolios/", body, format="json")


def test_create_prices_each_opportunity(user_client):
    response = create(user_client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["opportunities"]) == 4
    first = body["opportunities"][0]
    assert first["edge"] == pytest.approx(0.55 * 2.1 - 1)
    assert 0 < first["book_probability"] < 1
    assert first["kelly_fraction"] > 0


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"bankroll": "-5"}, "bankroll"),
        ({"opportunities": [{**BETS[0], "decimal_odds": 1.0}]}, "opportunities.0.decimal_odds"),
        ({"opportunities": [{**BETS[0], "probability": 1.2}]}, "opportunities.0.probability"),
        ({"limits": {"max_bets": 0}}, "limits.max_bets"),
        ({"limits": {"max_per_bet": 0.01, "min_stake": 50}}, "limits.min_stake"),
        ({"devig_method": "magic"}, "devig_method"),
        ({"opportunities": []}, "opportunities"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(user_client, overrides, field):
    response = create(user_client, **overrides)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_anonymous_is_401(api_client):
    assert api_client.get("/api/portfolios/").status_code == 401


def test_another_users_portfolio_is_404(user_client, other_client):
    portfolio_id = create(user_client).json()["id"]
    assert other_client.get(f"/api/portfolios/{portfolio_id}/").status_code == 404
    assert other_client.post(f"/api/portfolios/{portfolio_id}/runs/").status_code == 404
    assert other_client.get(f"/api/portfolios/{portfolio_id}/bets/").status_code == 404


def test_run_accept_twice_is_one_audit_row_and_one_set_of_bets(user_client, django_capture_on_commit_callbacks):
    portfolio_id = create(user_client).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(f"/api/portfolios/{portfolio_id}/runs/")
    assert response.status_code == 202
    run_id = response.json()["id"]
    run = user_client.get(f"/api/portfolios/{portfolio_id}/runs/{run_id}/").json()
    assert run["status"] == "succeeded", run
    report = run["report"]
    assert Job.objects.get(pk=run["job"]).status == "succeeded"
    stakes = [s for s in report["stakes"] if s > 0]
    assert 0 < len(stakes) <= 3
    assert all(s >= 5 and float(s).is_integer() for s in stakes)
    assert sum(stakes) <= 300 + 1e-6
    assert report["gap_pct"] >= 0
    first = user_client.post(f"/api/portfolios/{portfolio_id}/runs/{run_id}/accept/")
    second = user_client.post(f"/api/portfolios/{portfolio_id}/runs/{run_id}/accept/")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert Bet.objects.filter(portfolio_id=portfolio_id).count() == len(stakes)
    assert AuditEvent.objects.filter(action="portfolio.allocation_accept").count() == 1


def test_bets_record_settle_and_pnl(user_client):
    portfolio_id = create(user_client).json()["id"]
    url = f"/api/portfolios/{portfolio_id}/bets/"
    bad = user_client.post(url, {"description": "x", "decimal_odds": 1.0, "stake": "10"}, format="json")
    assert bad.status_code == 400 and "decimal_odds" in bad.json()["error"]["fields"]
    won = user_client.post(url, {"description": "x", "decimal_odds": 2.5, "stake": "10"}, format="json").json()
    lost = user_client.post(url, {"description": "y", "decimal_odds": 1.9, "stake": "20"}, format="json").json()
    assert user_client.post(f"{url}{won['id']}/settle/", {"status": "won"}, format="json").json()["profit"] == "15.00"
    user_client.post(f"{url}{lost['id']}/settle/", {"status": "lost"}, format="json")
    again = user_client.post(f"{url}{lost['id']}/settle/", {"status": "won"}, format="json")
    assert again.status_code == 409
    pnl = user_client.get(url).json()["pnl"]
    assert pnl["profit"] == "-5.00"
    assert pnl["yield"] == pytest.approx(-5 / 30)
    assert pnl["max_drawdown"] == pytest.approx(20 / 1015)


def test_lists_use_a_constant_number_of_queries(user_client):
    for _ in range(2):
        create(user_client)
    with CaptureQueriesContext(connection) as few:
        assert len(user_client.get("/api/portfolios/").json()) == 2
    for _ in range(3):
        create(user_client)
    with CaptureQueriesContext(connection) as many:
        assert len(user_client.get("/api/portfolios/").json()) == 5
    assert len(many) == len(few)
