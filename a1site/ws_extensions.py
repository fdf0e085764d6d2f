"""Names of the two ASGI scope extensions A1's WebSocket fast path offers (``a1site.ws_fast``).

An ASGI app finds them in ``scope["extensions"]`` of a ``websocket`` connection and must work
without them: stock uvicorn (``A1_WS_FAST_PATH=false``), daphne and channels' test
communicator offer neither. This module imports nothing, so an app can use the names without
importing the server.

- ``SEND_NOW_EXTENSION``: ``send_now(payload: bytes) -> bool`` writes one text message (its
  UTF-8 payload) at once; False when it cannot go right away (socket paused by flow control,
  closing, not yet open), and the app then uses the ASGI ``send``.
- ``SHORTCUT_EXTENSION``: ``register(message: bytes, callback)``. The server answers an inbound
  text message equal to ``message`` (the live heartbeat) by calling ``callback()`` instead of
  queueing it for the ASGI ``receive``; when ``callback()`` returns False that one message goes
  through ``receive`` as usual.
"""

SEND_NOW_EXTENSION = "a1.websocket.send_now"
SHORTCUT_EXTENSION = "a1.websocket.shortcut"
