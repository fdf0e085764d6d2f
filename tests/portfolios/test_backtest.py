"""Walk-forward backtest over a past slate: optimized with the portfolio's rules, settled from
the stored results; the stress run at 2 % worse odds earns less on the same bets."""

import pytest

from a1site.jobs.models import Job
from portfolios import services
from predictions import selectors
from predictions import services as prediction_services
from tests.portfolios.test_charts import series_values
from tests.predictions.factories import ResultFactory

pytestmark = pytest.mark.django_db


def play_the_slate(date):
    """The day is played: every player of the NBA slate scores 10 or 25 points."""
    props = selectors.priced_props_with_predictions(sport="nba", date=date)
    for index, prop in enumerate(props):
        if not any(r["player_id"] == prop["player_id"] for r in props[:index]):
            ResultFactory(
                game_id=prop["game_id"], player_id=prop["player_id"], stat="points", value=10 if index % 2 else 25
            )


def test_backtest_settles_the_days_stakes_and_the_stress_run_earns_less(
    served,
    user,
    user_client,
    client,
    password,
    django_capture_on_commit_callbacks,
):
    date = served["upcoming"][0].date
    prediction_services.slate_predict(sport="nba", date=date)
    play_the_slate(date)
    portfolio = services.portfolio_create(
        owner=user,
        name="bt",
        bankroll=1000,
        limits={"max_exposure": 0.5, "max_bets": 6, "increment": 1},
        props_filter={"sport": "nba", "date": date.isoformat(), "min_edge": 0.0},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(
            f"/api/portfolios/{portfolio.pk}/backtest/",
            {"start": date.isoformat(), "end": date.isoformat()},
            format="json",
        )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"])
    assert job.status == "succeeded", job.error
    base, stress = job.result["base"], job.result["stress"]
    assert len(base["days"]) == 1 and base["days"][0]["bets"] > 0
    assert base["bankroll_path"][0] == 1000
    assert base["final_bankroll"] == pytest.approx(1000 + base["days"][0]["profit"])
    assert stress["odds_worse_pct"] == 2.0
    assert stress["final_bankroll"] < base["final_bankroll"] or stress["staked"] < base["staked"]

    # The page draws both bankroll paths, as computed, labelled simulated (the mini league is).
    client.login(username=user.get_username(), password=password)
    body = client.get(f"/portfolios/{portfolio.pk}/").content.decode()
    drawn = series_values(body, "backtest-chart")
    assert drawn["base"] == pytest.approx(base["bankroll_path"], abs=0.005)
    assert drawn["odds 2 % worse"] == pytest.approx(stress["bankroll_path"], abs=0.005)
    assert 'data-testid="backtest-empty"' not in body
    assert 'data-testid="simulated-label"' in body

    bad = user_client.post(
        f"/api/portfolios/{portfolio.pk}/backtest/", {"start": date.isoformat(), "end": "2000-01-01"}, format="json"
    )
    assert bad.status_code == 400 and "end" in bad.json()["error"]["fields"]
