"""``portfolio.{id}`` through the real ASGI stack: the owner hears the new allocation, anyone
else is refused."""

import pytest
from asgiref.sync import sync_to_async

from live.registry import register_topic
from portfolios import services
from portfolios.receivers import topic_owner_only
from tests.live.conftest import _fresh_broker_for_every_live_test, connect, token_for  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

BETS = [
    {"description": "A over", "decimal_odds": 2.1, "probability": 0.55, "event": "a", "game": "g1"},
    {"description": "B over", "decimal_odds": 1.95, "probability": 0.56, "event": "b", "game": "g1"},
]


@pytest.fixture(autouse=True)
def _portfolio_rule():
    # The app registers this rule in ready(); a test elsewhere may have replaced it.
    register_topic("portfolio", topic_owner_only)


def make_portfolio(owner):
    return services.portfolio_create(
        owner=owner, name="p", bankroll=1000, limits={"max_exposure": 0.3}, opportunities=BETS
    )


async def test_another_users_portfolio_topic_is_refused(connect, user, other_user, token_for):  # noqa: F811
    theirs = await sync_to_async(make_portfolio)(other_user)
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.send({"type": "subscribe", "topics": [f"portfolio.{theirs.pk}"]})
    error = await client.receive()
    assert error["type"] == "error" and error["code"] == "forbidden"


async def test_owner_hears_the_new_allocation(connect, user, token_for):  # noqa: F811
    mine = await sync_to_async(make_portfolio)(user)
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.subscribe(f"portfolio.{mine.pk}")
    run = await sync_to_async(services.portfolio_optimize)(portfolio=mine, user=user)
    message = await client.receive_type("allocation", timeout=30)
    assert message["topic"] == f"portfolio.{mine.pk}"
    assert message["data"]["run_id"] == run.pk
    assert sum(message["data"]["stakes"]) > 0
