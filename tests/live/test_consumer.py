"""The /ws/ protocol end to end through channels' WebsocketCommunicator (embedded broker)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from a1site.jobs import services as job_services
from live import publish
from live.engine.protocol import (
    CLOSE_BAD_MESSAGES,
    CLOSE_IDLE,
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
)
from live.registry import register_topic, unregister_topic

pytestmark = pytest.mark.django_db(transaction=True)


def tick(n: int, *, player="Jokic", book="dk", line=25.5, sport="nba"):
    return {"sport": sport, "game": "g1", "player": player, "stat": "points", "book": book, "line": line + n, "n": n}


async def test_token_in_query_authenticates_and_messages_arrive_in_the_documented_shape(connect, user, token_for):
    client = await connect(token=await sync_to_async(token_for)(user))
    subscribed = await client.subscribe("odds.nba")
    start = subscribed["topics"]["odds.nba"]

    seq = publish("odds.nba", "odds.line_move", tick(1))

    message = await client.receive()
    assert set(message) == {"topic", "seq", "type", "ts", "data"}
    assert message["topic"] == "odds.nba"
    assert message["seq"] == seq == start + 1
    assert message["type"] == "odds.line_move"
    assert message["data"]["n"] == 1


async def test_session_cookie_authenticates_a_browser(connect, user, password):
    browser = Client()
    await sync_to_async(browser.login)(username=user.username, password=password)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    client = await connect(cookie=cookie)
    assert (await client.subscribe("odds.nfl"))["topics"].keys() == {"odds.nfl"}


async def test_auth_as_first_message(connect, user, token_for):
    client = await connect(welcome=False)
    await client.send({"type": "auth", "token": await sync_to_async(token_for)(user)})
    welcome = await client.receive()
    assert welcome["type"] == "welcome" and welcome["user"] == user.username
    assert welcome["limits"]["max_subscriptions"] > 0


async def test_anything_but_auth_from_an_anonymous_client_closes_4401(connect):
    client = await connect(welcome=False)
    await client.send({"type": "subscribe", "topics": ["odds.nba"]})
    error = await client.receive()
    assert error["code"] == "auth_required"
    assert await client.closed_with() == CLOSE_UNAUTHENTICATED


async def test_a_wrong_token_closes_4401(connect, db):
    client = await connect(token="not-a-token", welcome=False)
    assert await client.closed_with() == CLOSE_UNAUTHENTICATED


async def test_a_client_that_never_authenticates_is_closed(connect, settings, db):
    settings.LIVE_AUTH_TIMEOUT_S = 0.1
    settings.LIVE_SWEEP_INTERVAL_S = 0.05
    client = await connect(welcome=False)
    assert await client.closed_with() == CLOSE_UNAUTHENTICATED


async def test_ping_gets_pong(connect, user, token_for):
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.send({"type": "ping", "id": 7})
    assert await client.receive() == {"type": "pong", "id": 7}


async def test_another_users_job_topic_is_refused_and_own_job_progress_arrives(connect, user, other_user, token_for):
    mine = await sync_to_async(job_services.job_create)(kind="train", owner=user)
    theirs = await sync_to_async(job_services.job_create)(kind="train", owner=other_user)
    client = await connect(token=await sync_to_async(token_for)(user))

    await client.send({"type": "subscribe", "topics": [f"jobs.{theirs.id}"]})
    error = await client.receive()
    assert error["type"] == "error" and error["code"] == "forbidden" and error["topic"] == f"jobs.{theirs.id}"

    await client.subscribe(f"jobs.{mine.id}")
    await sync_to_async(job_services.job_start)(job_id=mine.id)
    message = await client.receive()
    assert message["topic"] == f"jobs.{mine.id}"
    assert message["type"] == "job.progress"
    assert message["data"]["status"] == "running"


async def test_portfolio_topics_follow_the_registered_owner_rule(connect, user, other_user, token_for):
    register_topic("portfolio", lambda u, topic: topic == f"portfolio.{u.pk}1")
    try:
        client = await connect(token=await sync_to_async(token_for)(user))
        await client.send({"type": "subscribe", "topics": [f"portfolio.{other_user.pk}1"]})
        assert (await client.receive())["code"] == "forbidden"
        assert (await client.subscribe(f"portfolio.{user.pk}1"))["type"] == "subscribed"
    finally:
        unregister_topic("portfolio")


async def test_unregistered_topic_prefix_is_refused(connect, user, token_for):
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.send({"type": "subscribe", "topics": ["secrets.all"]})
    assert (await client.receive())["code"] == "unknown_topic"


async def test_alerts_are_personal(connect, user, other_user, token_for):
    from live.alerts import raise_edge_alert

    alice = await connect(token=await sync_to_async(token_for)(user))
    bob = await connect(token=await sync_to_async(token_for)(other_user))
    await alice.subscribe("alerts")
    await bob.subscribe("alerts")
    await bob.send({"type": "subscribe", "topics": [f"alerts.{user.pk}"]})
    assert (await bob.receive())["code"] == "forbidden"

    sent = await sync_to_async(raise_edge_alert)(user.pk, {"player": "Jokic", "stat": "points", "edge": 0.09})
    assert sent
    alert = await alice.receive()
    assert alert["topic"] == "alerts" and alert["type"] == "alert.edge" and alert["data"]["edge"] == 0.09
    assert await bob.nothing()


async def test_resume_returns_exactly_the_missed_messages_in_order(connect, user, token_for):
    token = await sync_to_async(token_for)(user)
    first = await connect(token=token)
    await first.subscribe("odds.game.g1")
    publish("odds.game.g1", "odds.price_change", tick(1))
    publish("odds.game.g1", "odds.price_change", tick(2))
    seen = [await first.receive(), await first.receive()]
    last_seen = seen[-1]["seq"]
    await first.close()

    missed = [publish("odds.game.g1", "odds.price_change", tick(n)) for n in (3, 4, 5)]

    second = await connect(token=token)
    await second.send({"type": "resume", "topics": {"odds.game.g1": last_seen}})
    subscribed = await second.receive()
    assert subscribed["type"] == "subscribed" and subscribed["resumed"] is True
    replayed = [await second.receive() for _ in range(3)]
    assert [m["seq"] for m in replayed] == missed
    assert [m["data"]["n"] for m in replayed] == [3, 4, 5]

    publish("odds.game.g1", "odds.price_change", tick(6))
    live = await second.receive()
    assert live["seq"] == missed[-1] + 1
    assert await second.nothing()


async def test_resume_from_before_the_history_gets_resync(connect, user, token_for, settings):
    from live.backends import reset_broker

    settings.LIVE_HISTORY_SIZE = 3
    reset_broker()
    token = await sync_to_async(token_for)(user)
    first = publish("odds.nhl", "odds.line_move", tick(0, sport="nhl"))
    for n in range(1, 6):
        publish("odds.nhl", "odds.line_move", tick(n, sport="nhl"))

    client = await connect(token=token)
    await client.send({"type": "resume", "topics": {"odds.nhl": first}})
    resync = await client.receive_type("resync")
    assert resync == {"type": "resync", "topic": "odds.nhl", "seq": first + 5, "reason": "history_exceeded"}

    publish("odds.nhl", "odds.line_move", tick(6, sport="nhl"))
    assert (await client.receive_type("odds.line_move"))["seq"] == first + 6


async def test_resume_from_a_seq_the_server_never_issued_gets_resync(connect, user, token_for):
    client = await connect(token=await sync_to_async(token_for)(user))
    current = publish("games.g9", "game.start", {"game": "g9"})
    await client.send({"type": "resume", "topics": {"games.g9": current + 50}})
    assert (await client.receive_type("resync"))["topic"] == "games.g9"


async def test_filters_pass_only_matching_messages(connect, user, token_for):
    client = await connect(token=await sync_to_async(token_for)(user))
    reply = await client.subscribe("odds.nba", filters={"player": "Jokic", "min_edge": 0.05})
    assert reply["filters"] == {"player": "jokic", "min_edge": 0.05}
    publish("odds.nba", "odds.line_move", tick(1, player="Curry"))
    publish("odds.nba", "odds.line_move", {**tick(2), "edge": 0.01})
    publish("odds.nba", "odds.line_move", {**tick(3), "edge": 0.07})
    message = await client.receive()
    assert message["data"]["n"] == 3
    assert await client.nothing()


async def test_messages_within_the_batch_window_share_one_frame(connect, user, token_for):
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.subscribe("odds.nba")
    for n in range(5):
        publish("odds.nba", "odds.line_move", tick(n, book=f"b{n}"))
    frame = await client.frame()
    assert [m["data"]["n"] for m in frame] == [0, 1, 2, 3, 4]


async def test_unsubscribe_stops_messages(connect, user, token_for):
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.subscribe("odds.nba")
    await client.send({"type": "unsubscribe", "topics": ["odds.nba"]})
    assert (await client.receive())["topics"] == ["odds.nba"]
    publish("odds.nba", "odds.line_move", tick(1))
    assert await client.nothing()


async def test_subscription_cap_says_which_limit(connect, user, token_for, settings):
    settings.LIVE_MAX_SUBSCRIPTIONS = 3
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.subscribe("odds.nba", "odds.nfl")
    await client.send({"type": "subscribe", "topics": ["odds.nhl", "odds.mlb"]})
    error = await client.receive()
    assert error["code"] == "too_many_subscriptions"
    assert "limit is 3" in error["message"]


async def test_rate_limit_errors_then_closes_4429(connect, user, token_for, settings):
    settings.LIVE_RATE_PER_S = 0.01
    settings.LIVE_RATE_BURST = 3
    settings.LIVE_MAX_STRIKES = 2
    client = await connect(token=await sync_to_async(token_for)(user))
    for _ in range(3):
        await client.send({"type": "ping"})
        assert (await client.receive())["type"] == "pong"
    await client.send({"type": "ping"})
    error = await client.receive()
    assert error["code"] == "rate_limited" and "messages/s" in error["message"]
    for _ in range(3):
        await client.send({"type": "ping"})
    assert await client.closed_with() == CLOSE_RATE_LIMITED


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"topics": []}', "malformed"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "subscribe", "topics": "Bad Topic!"}', "invalid_topic"),
        ('{"type": "subscribe", "topics": ["odds.nba"], "filters": {"colour": 1}}', "invalid_filter"),
        ('{"type": "resume", "topics": {"odds.nba": -1}}', "invalid_message"),
    ],
)
async def test_malformed_frames_get_an_error_not_a_crash(connect, user, token_for, frame, code):
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.send(frame)
    error = await client.receive()
    assert error["type"] == "error" and error["code"] == code
    await client.send({"type": "ping"})
    assert (await client.receive())["type"] == "pong"


async def test_binary_frames_are_refused(connect, user, token_for):
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await client.receive())["code"] == "malformed"


async def test_repeated_bad_messages_close_4400(connect, user, token_for, settings):
    settings.LIVE_MAX_STRIKES = 3
    client = await connect(token=await sync_to_async(token_for)(user))
    for _ in range(4):
        await client.send("nope")
    assert await client.closed_with() == CLOSE_BAD_MESSAGES


async def test_idle_client_without_heartbeat_is_closed_4408(connect, user, token_for, settings):
    settings.LIVE_IDLE_TIMEOUT_S = 0.2
    settings.LIVE_SWEEP_INTERVAL_S = 0.05
    client = await connect(token=await sync_to_async(token_for)(user))
    assert await client.closed_with(timeout=3) == CLOSE_IDLE


async def test_full_queue_merges_superseded_ticks_before_closing(connect, user, token_for, settings):
    settings.LIVE_OUTBOX_CAPACITY = 4
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.subscribe("odds.nba")
    seqs = [publish("odds.nba", "odds.line_move", tick(n)) for n in range(10)]  # one line, 10 prices
    frame = await client.frame()
    assert len(frame) <= 4
    assert frame[-1]["seq"] == seqs[-1] and frame[-1]["data"]["n"] == 9
    assert sum(m.get("merged", 0) for m in frame) + len(frame) == 10


async def test_client_whose_queue_overflows_is_closed_4413_without_hurting_others(
    connect, user, other_user, token_for, settings
):
    settings.LIVE_OUTBOX_CAPACITY = 4
    slow = await connect(token=await sync_to_async(token_for)(user))
    await slow.subscribe("odds.nba")
    settings.LIVE_OUTBOX_CAPACITY = 100
    fine = await connect(token=await sync_to_async(token_for)(other_user))
    await fine.subscribe("odds.nba")
    for n in range(10):
        publish("odds.nba", "odds.line_move", tick(n, book=f"book{n}"))  # 10 different lines: nothing merges
    assert await slow.closed_with() == CLOSE_TOO_SLOW
    assert len(await fine.frame()) == 10


async def test_alerts_jump_ahead_of_bulk_odds(connect, user, token_for):
    from live.services import publish_alert

    client = await connect(token=await sync_to_async(token_for)(user))
    await client.subscribe("odds.nba", "alerts")

    def burst():
        for n in range(3):
            publish("odds.nba", "odds.line_move", tick(n, book=f"b{n}"))
        publish_alert(user_id=user.pk, type="alert.steam", data={"player": "Jokic"})

    await sync_to_async(burst)()
    frame = await client.frame()
    assert frame[0]["topic"] == "alerts"
    assert [m["topic"] for m in frame[1:]] == ["odds.nba"] * 3


async def test_publish_inside_a_transaction_waits_for_commit(connect, user, token_for):
    from django.db import transaction

    client = await connect(token=await sync_to_async(token_for)(user))
    await client.subscribe("games.g5")

    def rolled_back():
        with transaction.atomic():
            publish("games.g5", "game.score", {"home_score": 1})
            transaction.set_rollback(True)

    def committed():
        with transaction.atomic():
            assert publish("games.g5", "game.score", {"home_score": 2}) is None

    await sync_to_async(rolled_back)()
    assert await client.nothing()
    await sync_to_async(committed)()
    assert (await client.receive())["data"] == {"home_score": 2}


async def test_many_clients_on_one_topic_share_one_serialization(connect, user, token_for):
    token = await sync_to_async(token_for)(user)
    clients = [await connect(token=token) for _ in range(5)]
    for client in clients:
        await client.subscribe("odds.mlb")
    publish("odds.mlb", "odds.open", tick(1, sport="mlb"))
    texts = {(await c.receive())["seq"] for c in clients}
    assert len(texts) == 1
    await asyncio.sleep(0)
