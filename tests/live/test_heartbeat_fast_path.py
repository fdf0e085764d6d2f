"""a1site.ws_fast answers the bare heartbeat before websockets' frame parser when one whole frame
arrives alone, and hands everything else to websockets untouched: a real uvicorn server on
loopback, a tiny ASGI app that registers the shortcut like the live consumer, and a client that
controls how its frames are cut into TCP writes."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
import uvicorn
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from a1site.ws_extensions import SEND_NOW_EXTENSION, SHORTCUT_EXTENSION
from a1site.ws_fast import LiveWebSocketProtocol

PING = b'{"type":"ping"}'
PONG = b'{"type":"pong"}'


class App:
    """Accepts, answers PING through the shortcut, echoes every other text message."""

    def __init__(self):
        self.shortcut_calls = 0
        self.received: list[str] = []

    async def __call__(self, scope, receive, send):
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        send_now = scope["extensions"][SEND_NOW_EXTENSION]

        def heartbeat() -> bool:
            self.shortcut_calls += 1
            return send_now(PONG)

        scope["extensions"][SHORTCUT_EXTENSION](PING, heartbeat)
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            text = message.get("text") or repr(message["bytes"])
            self.received.append(text)
            await send({"type": "websocket.send", "text": "echo " + text})


class Client:
    def __init__(self, reader, writer, protocol: ClientProtocol):
        self.reader, self.writer, self.protocol = reader, writer, protocol

    @classmethod
    async def connect(cls, port: int, *, deflate: bool) -> Client:
        extensions = enable_client_permessage_deflate(None) if deflate else None
        protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/ws/"), extensions=extensions)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = cls(reader, writer, protocol)
        protocol.send_request(protocol.connect())
        await client.flush()
        [response] = await client.events(bool)
        assert isinstance(response, Response) and response.status_code == 101
        assert bool(protocol.extensions) is deflate
        return client

    def frame(self, text: bytes) -> bytes:
        self.protocol.send_text(text)
        return b"".join(self.protocol.data_to_send())

    async def flush(self) -> None:
        self.writer.write(b"".join(self.protocol.data_to_send()))
        await self.writer.drain()

    async def write(self, *chunks: bytes) -> None:
        """Each chunk its own TCP write, with a pause so the server reads them separately."""
        for chunk in chunks:
            self.writer.write(chunk)
            await self.writer.drain()
            await asyncio.sleep(0.05)

    async def events(self, done) -> list:
        events: list = []
        while True:
            events += self.protocol.events_received()
            if done(events):
                return events
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            assert data, "server closed the connection"
            self.protocol.receive_data(data)

    async def texts(self, count: int) -> list[str]:
        frames = await self.events(lambda events: len(events) >= count)
        assert all(frame.opcode is Opcode.TEXT for frame in frames)
        return [frame.data.decode() for frame in frames]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


@pytest.fixture
async def server(monkeypatch):
    """(app, port, parsed): parsed counts the text frames that went through websockets' parser."""
    parsed = []
    real_handle_text = LiveWebSocketProtocol.handle_text

    def counting_handle_text(self, event):
        parsed.append(event.data)
        real_handle_text(self, event)

    monkeypatch.setattr(LiveWebSocketProtocol, "handle_text", counting_handle_text)
    app = App()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, ws=LiveWebSocketProtocol, lifespan="off", log_level="warning", ws_ping_interval=None)
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        await asyncio.sleep(0.01)
    yield app, sock.getsockname()[1], parsed
    uv.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.mark.parametrize("deflate", [True, False], ids=["compressed", "plain"])
async def test_a_heartbeat_alone_in_its_read_skips_the_parser_and_the_stream_stays_in_step(server, deflate):
    app, port, parsed = server
    client = await Client.connect(port, deflate=deflate)
    await client.write(client.frame(PING))
    assert await client.texts(1) == [PONG.decode()]
    assert app.shortcut_calls == 1 and parsed == [] and app.received == []
    await client.write(client.frame(b"hello"))
    assert await client.texts(1) == ["echo hello"]
    assert parsed == [b"hello"]
    await client.close()


async def test_a_heartbeat_cut_across_reads_goes_through_the_parser_and_is_answered_once(server):
    app, port, parsed = server
    client = await Client.connect(port, deflate=True)
    ping = client.frame(PING)
    await client.write(ping[:2], ping[2:])  # the header alone: read, and the reader buffer empty
    assert await client.texts(1) == [PONG.decode()]
    assert app.shortcut_calls == 1 and parsed == [PING] and app.received == []
    await client.write(client.frame(PING))  # the parser is back at a frame boundary
    assert await client.texts(1) == [PONG.decode()]
    assert app.shortcut_calls == 2 and len(parsed) == 1
    await client.close()


async def test_frames_sharing_a_read_and_other_messages_take_the_ordinary_path(server):
    app, port, parsed = server
    client = await Client.connect(port, deflate=True)
    lookalike = b'{"type":"pong"}'  # same length as the heartbeat, not the heartbeat
    await client.write(client.frame(PING) + client.frame(PING) + client.frame(lookalike))
    assert sorted(await client.texts(3)) == sorted([PONG.decode(), PONG.decode(), "echo " + lookalike.decode()])
    assert app.shortcut_calls == 2 and app.received == [lookalike.decode()]
    assert parsed == [PING, PING, lookalike]
    await client.close()


async def test_the_rest_of_a_frame_that_looks_like_a_heartbeat_is_not_taken_for_one(server):
    """A binary frame whose payload is, byte for byte, a heartbeat frame: its header arrives
    first (the reader then holds nothing, but the parser is inside a frame), its payload next."""
    app, port, parsed = server
    client = await Client.connect(port, deflate=False)
    ping = client.frame(PING)
    header = bytes((0x82, 0x80 | len(ping))) + bytes(4)  # final binary frame, all-zero mask
    await client.write(header, ping)
    assert await client.texts(1) == ["echo " + repr(ping)]
    assert app.shortcut_calls == 0 and app.received == [repr(ping)]
    await client.close()
