"""The cheap paths that let one process hold 10,000 clients (bench/live.py): eager sends, the
plain receive loop, and permessage-deflate that leaves small frames uncompressed."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from a1site.ws_fast import DEFLATE_MIN_BYTES, SelectivePerMessageDeflate, deflate_factory
from live import publish
from live.hub import start_eagerly

# --- start_eagerly ---------------------------------------------------------------------------


async def test_a_coroutine_that_never_suspends_finishes_without_a_task():
    done = []

    async def send():
        done.append(True)

    assert start_eagerly(send()) is None
    assert done == [True]


async def test_a_coroutine_that_must_wait_carries_on_in_a_task_in_order():
    writable = asyncio.Event()
    steps = []

    async def send():
        steps.append("started")
        await writable.wait()
        steps.append("written")
        await asyncio.sleep(0)
        steps.append("done")
        return "ok"

    task = start_eagerly(send())
    assert steps == ["started"] and task is not None
    writable.set()
    assert await asyncio.wait_for(task, 1) == "ok"
    assert steps == ["started", "written", "done"]


async def test_cancelling_the_carried_on_task_reaches_the_coroutine():
    cleaned = []

    async def send():
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(True)

    task = start_eagerly(send())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]


async def test_an_exception_of_the_awaited_future_is_raised_inside_the_coroutine():
    future = asyncio.get_running_loop().create_future()
    caught = []

    async def send():
        try:
            await future
        except ValueError as exc:
            caught.append(str(exc))

    task = start_eagerly(send())
    future.set_exception(ValueError("socket gone"))
    await asyncio.wait_for(task, 1)
    assert caught == ["socket gone"]


# --- the consumer ----------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db(transaction=True)


@pytestmark_db
async def test_pings_and_deliveries_never_hop_to_a_worker_thread(connect, user, token_for, monkeypatch):
    """channels' generic dispatcher runs close_old_connections in a thread before every
    message; the live consumer does not (its database calls close stale connections)."""
    client = await connect(token=await sync_to_async(token_for)(user))
    await client.subscribe("odds.nba")

    hops = []
    monkeypatch.setattr("channels.consumer.aclose_old_connections", lambda: hops.append(1))
    for n in range(3):
        await client.send({"type": "ping", "id": n})
        assert await client.receive_type("pong")
    publish("odds.nba", "odds.line_move", {"sport": "nba", "game": "g1", "player": "p", "stat": "s", "book": "b"})
    assert (await client.receive())["topic"] == "odds.nba"
    assert hops == []


@pytestmark_db
async def test_a_client_whose_socket_is_full_does_not_hold_up_the_others(connect, user, other_user, token_for):
    """A send that must wait (a full socket buffer) goes on in its own task."""
    from live.consumers import LiveConsumer

    stuck = await connect(token=await sync_to_async(token_for)(user))
    fine = await connect(token=await sync_to_async(token_for)(other_user))
    await stuck.subscribe("games.g1")
    await fine.subscribe("games.g1")
    [stuck_consumer] = [c for c in _live_consumers(LiveConsumer) if c.user == user]
    writable = asyncio.Event()
    real_send = stuck_consumer.base_send

    async def full_socket(message):
        await writable.wait()
        await real_send(message)

    stuck_consumer.base_send = full_socket
    publish("games.g1", "game.score", {"n": 1})
    assert (await fine.receive())["data"] == {"n": 1}
    assert await stuck.nothing()
    writable.set()
    assert (await stuck.receive())["data"] == {"n": 1}


def _live_consumers(cls):
    import gc

    # type(), not isinstance(): the latter reads __class__, which a dead weak proxy raises on
    # and a deprecated torch alias warns on.
    return [o for o in gc.get_objects() if issubclass(type(o), cls) and not o.closing]


# --- permessage-deflate ----------------------------------------------------------------------


def _handshake(min_bytes: int = DEFLATE_MIN_BYTES) -> tuple[ServerProtocol, ClientProtocol]:
    client = ClientProtocol(parse_uri("ws://127.0.0.1/ws/"), extensions=enable_client_permessage_deflate(None))
    server = ServerProtocol(extensions=[deflate_factory(min_bytes)])
    request: Request = client.connect()
    server.receive_data(request.serialize())
    [received] = server.events_received()
    server.send_response(server.accept(received))
    client.receive_data(b"".join(server.data_to_send()))
    client.events_received()
    return server, client


def _first_byte_flags(data: bytes) -> tuple[Opcode, bool]:
    return Opcode(data[0] & 0x0F), bool(data[0] & 0x40)


def test_small_frames_leave_uncompressed_and_large_ones_compressed_both_readable():
    server, client = _handshake()
    assert isinstance(server.extensions[0], SelectivePerMessageDeflate)
    small = '[{"topic":"games.g1","seq":1,"data":{"n":1}}]'
    large = "[" + ",".join(f'{{"topic":"odds.nba","seq":{n},"data":{{"line":25.5}}}}' for n in range(40)) + "]"
    assert len(small) < DEFLATE_MIN_BYTES <= len(large)
    for text, compressed in ((small, False), (large, True), (small, False), (large, True)):
        server.send_text(text.encode())
        wire = b"".join(server.data_to_send())
        assert _first_byte_flags(wire) == (Opcode.TEXT, compressed)
        assert (len(wire) < len(text)) is compressed
        client.receive_data(wire)
        [frame] = client.events_received()
        assert frame.data.decode() == text


def test_min_bytes_zero_compresses_every_frame():
    server, _ = _handshake(min_bytes=0)
    server.send_text(b'[{"n":1}]')
    assert _first_byte_flags(b"".join(server.data_to_send()))[1] is True


# --- one encoded frame per message per process -----------------------------------------------


def test_a_message_that_leaves_alone_is_encoded_once_for_every_client():
    from live.engine.outbox import Outbox, Outgoing, batch_frame
    from live.engine.topics import PRIORITY_BULK, PRIORITY_CONTROL

    tick = Outgoing('{"topic":"odds.nba","seq":7}', PRIORITY_BULK, "odds.nba", 7)
    first, second = Outbox(10), Outbox(10)
    first.push(tick)
    second.push(tick)
    frame = first.drain_frame(100)
    assert frame == b'[{"topic":"odds.nba","seq":7}]'
    assert second.drain_frame(100) is frame
    assert len(first) == len(second) == 0

    reply = Outgoing('{"type":"pong"}', PRIORITY_CONTROL)
    first.push(tick)
    first.push(reply)
    assert first.drain_frame(100) == batch_frame([reply.text, tick.text]).encode()


def test_a_merged_tick_is_not_served_from_the_shared_frame():
    from live.engine.outbox import Outbox, Outgoing
    from live.engine.topics import PRIORITY_BULK

    ticks = [Outgoing(f'{{"seq":{n}}}', PRIORITY_BULK, "odds.nba", n, "odds.nba|g|p|s|b") for n in (1, 2, 3)]
    elsewhere = Outbox(10)
    elsewhere.push(ticks[1])
    assert elsewhere.drain_frame(100) == b'[{"seq":2}]'  # its shared frame is cached now
    outbox = Outbox(2)
    assert all(outbox.push(tick) for tick in ticks)  # full at the third: 1 merges into 2
    assert outbox.drain_frame(100) == b'[{"seq":2,"merged":1},{"seq":3}]'
