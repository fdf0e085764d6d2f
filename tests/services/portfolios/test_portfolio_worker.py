"""A portfolio optimization on a real Celery worker (PostgreSQL, Redis), and an allocation
accepted by two requests at the same moment: one set of bets, one audit row."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from a1site.audit.models import AuditEvent
from a1site.jobs.models import Job
from portfolios import services
from portfolios.models import Bet, OptimizationRun
from tests.support import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BETS = [
    {"description": "A over", "decimal_odds": 2.1, "probability": 0.55, "event": "a", "game": "g1"},
    {"description": "B over", "decimal_odds": 1.95, "probability": 0.56, "event": "b", "game": "g1"},
    {"description": "C under", "decimal_odds": 2.3, "probability": 0.47, "event": "c", "side": "under", "game": "g2"},
]


def test_worker_optimizes_and_concurrent_accepts_place_one_set_of_bets(celery_worker, user):
    client = APIClient()
    client.force_authenticate(user)
    created = client.post(
        "/api/portfolios/",
        {
            "name": "svc",
            "bankroll": "1000",
            "limits": {"max_exposure": 0.3, "max_bets": 2, "increment": 1},
            "opportunities": BETS,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    portfolio_id = created.json()["id"]
    run_id = client.post(f"/api/portfolios/{portfolio_id}/runs/").json()["id"]

    def finished():
        run = OptimizationRun.objects.get(pk=run_id)
        return run if run.status in ("succeeded", "failed") else None

    run = wait_until(finished, timeout=120, interval=0.3, what="the worker to optimize the portfolio")
    assert run.status == "succeeded", (run.error, celery_worker.log())
    assert Job.objects.get(pk=run.job_id).progress == 100
    placed = [s for s in run.report["stakes"] if s > 0]
    assert 0 < len(placed) <= 2

    results, errors = [], []

    def accept():
        try:
            results.append(len(services.allocation_accept(run_id=run_id, user=user)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert results == [len(placed), len(placed)]
    assert Bet.objects.filter(portfolio_id=portfolio_id).count() == len(placed)
    assert AuditEvent.objects.filter(action="portfolio.allocation_accept").count() == 1
