"""Helpers for the live tests: WebSocket clients through the real ASGI stack (origin check,
session/auth middleware, router) and a fresh in-memory broker per test."""

from __future__ import annotations

import contextlib
import json

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token


@pytest.fixture(autouse=True)
def _fresh_broker_for_every_live_test(fresh_broker):
    yield


@pytest.fixture
def token_for(transactional_db):
    def make(user) -> str:
        return Token.objects.get_or_create(user=user)[0].key

    return make


class LiveClient:
    """A WebsocketCommunicator that speaks the protocol: frames are JSON arrays of messages."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator
        self.pending: list[dict] = []

    async def send(self, message) -> None:
        await self.communicator.send_to(text_data=message if isinstance(message, str) else json.dumps(message))

    async def frame(self, timeout: float = 2) -> list[dict]:
        output = await self.communicator.receive_output(timeout)
        if output["type"] == "websocket.close":
            raise ConnectionClosed(output.get("code"))
        batch = json.loads(output["text"])
        assert isinstance(batch, list), "every server frame is a JSON array"
        return batch

    async def receive(self, timeout: float = 2) -> dict:
        if not self.pending:
            self.pending.extend(await self.frame(timeout))
        return self.pending.pop(0)

    async def receive_type(self, kind: str, timeout: float = 2) -> dict:
        while True:
            message = await self.receive(timeout)
            if message["type"] == kind:
                return message

    async def closed_with(self, timeout: float = 2) -> int:
        while True:
            try:
                await self.frame(timeout)
            except ConnectionClosed as closed:
                return closed.code

    async def nothing(self, timeout: float = 0.2) -> bool:
        return not self.pending and await self.communicator.receive_nothing(timeout)

    async def subscribe(self, *topics, **extra) -> dict:
        await self.send({"type": "subscribe", "topics": list(topics), **extra})
        return await self.receive_type("subscribed")

    async def close(self) -> None:
        await self.communicator.disconnect()


class ConnectionClosed(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


@pytest.fixture
async def connect():
    from a1site.asgi import application

    opened: list[LiveClient] = []

    async def open_(*, token: str | None = None, cookie: str | None = None, welcome: bool = True) -> LiveClient:
        path = f"/ws/?token={token}" if token else "/ws/"
        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=2)
        assert connected
        client = LiveClient(communicator)
        opened.append(client)
        if welcome:
            assert (await client.receive())["type"] == "welcome"
        return client

    yield open_
    for client in opened:
        with contextlib.suppress(Exception):  # already closed by the server
            await client.communicator.disconnect()
