"""A1's WebSocket fast path: uvicorn's websockets-sansio protocol with five changes for
10,000 connections per process. ``a1site.serve`` passes it to uvicorn as
``ws="a1site.ws_fast:LiveWebSocketProtocol"`` unless ``A1_WS_FAST_PATH=false``.

**Private hooks.** ``LiveWebSocketProtocol`` subclasses uvicorn's
``WebSocketsSansIOProtocol`` (not a public API) and reads websockets' sans-I/O internals
(``ServerProtocol.parser``, a chain of generators, its ``reader`` buffer and ``current_size``).
pyproject.toml bounds ``uvicorn`` and ``websockets`` to the versions this was tested with;
tests/live/test_heartbeat_fast_path.py and tests/live/test_perf_send_path.py break first when
an upgrade moves them, and ``A1_WS_FAST_PATH=false`` serves with stock uvicorn meanwhile
(tests/services/site/test_stock_uvicorn.py). Nothing else imports this module: the live
consumer finds the fast send through the ASGI scope (``a1site.ws_extensions``).

- **permessage-deflate state.** uvicorn's websockets-sansio protocol keeps a zlib compressor
  (window 12 bits, memLevel 5) and a decompressor alive for every connection: about 42 KiB
  each, more than a whole idle connection costs without it (bench/live.py). Here the server
  keeps a 2 KiB window (11 bits, memLevel 2; ~16 KiB of zlib state) and asks clients not to
  keep context (``client_no_context_takeover``), so no decompressor outlives a frame. Messages
  to one client within ``LIVE_BATCH_WINDOW_MS`` share a frame, so the small window costs little
  ratio (odds stream: ~5.8 one message per frame, ~7 batched, against 7–9 before).
- **Small frames uncompressed** (``DEFLATE_MIN_BYTES``, 1 KiB, as Node's ``ws``): zlib on a
  one-message frame cost more than anything else in a delivery; batches still compress.
- **Two scope extensions** for the live consumer (other ASGI apps ignore them; names and
  contract in ``a1site.ws_extensions``): ``send_now`` writes a text message synchronously (the
  ASGI send is a chain of coroutines, channels' session wrapper and websockets' frame objects),
  falling back to the ASGI send when the socket is paused or closing; ``shortcut`` lets the
  consumer answer its bare heartbeat inside ``data_received``, without the ASGI queue and a
  task wake-up — and, when the heartbeat frame arrives alone in a read (the usual case), before
  websockets' frame parser too (``answer_bare_frame``).
- **Garbage collection:** after start-up everything alive is frozen (never walked again) and
  young collections run every 20,000 allocations (see ``tune_gc_once``).
"""

from __future__ import annotations

import gc
import zlib

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from a1site.ws_extensions import SEND_NOW_EXTENSION, SHORTCUT_EXTENSION

try:  # websockets' C helper, as websockets.frames imports it
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - pure-Python fallback
    from websockets.utils import apply_mask

DEFLATE_WINDOW_BITS = 11
DEFLATE_MEM_LEVEL = 2
# Frames shorter than this leave uncompressed (RFC 7692 lets a sender choose per message; Node's
# `ws` uses the same 1 KiB default). One ~250-byte message saves ~150 bytes compressed but
# costs ~20 µs of zlib per client per frame, which at 10,000 clients was the largest single
# cost of a delivery; batches (the odds stream) are larger and still compressed.
DEFLATE_MIN_BYTES = 1024


class SelectivePerMessageDeflate(PerMessageDeflate):
    """permessage-deflate that sends small whole messages uncompressed (RSV1 clear)."""

    min_bytes = DEFLATE_MIN_BYTES

    def encode(self, frame: Frame) -> Frame:
        if frame.fin and frame.opcode in (Opcode.TEXT, Opcode.BINARY) and len(frame.data) < self.min_bytes:
            return frame
        return super().encode(frame)


class SelectiveDeflateFactory(ServerPerMessageDeflateFactory):
    def __init__(self, *, min_bytes: int = DEFLATE_MIN_BYTES, **kwargs) -> None:
        super().__init__(**kwargs)
        self.min_bytes = min_bytes

    def process_request_params(self, params, accepted_extensions):
        response, negotiated = super().process_request_params(params, accepted_extensions)
        extension = SelectivePerMessageDeflate(
            negotiated.remote_no_context_takeover,
            negotiated.local_no_context_takeover,
            negotiated.remote_max_window_bits,
            negotiated.local_max_window_bits,
            negotiated.compress_settings,
        )
        extension.min_bytes = self.min_bytes
        return response, extension


def deflate_factory(min_bytes: int = DEFLATE_MIN_BYTES) -> ServerPerMessageDeflateFactory:
    return SelectiveDeflateFactory(
        min_bytes=min_bytes,
        server_max_window_bits=DEFLATE_WINDOW_BITS,
        client_no_context_takeover=True,
        compress_settings={"memLevel": DEFLATE_MEM_LEVEL},
    )


# Young-generation collections every 20,000 net allocations instead of 700: a process holding
# 10,000 connections allocates fast (each delivery makes a few objects) and most of it dies
# young, so fewer, larger collections do less work and pause less often (bench/live.py).
GC_GEN0_THRESHOLD = 20_000
_gc_tuned = False


def tune_gc_once() -> None:
    """On the first WebSocket connection (the app, Django and every module loaded by then):
    move what exists to the permanent generation so no full collection walks it again, and
    collect the young generation less often."""
    global _gc_tuned
    if not _gc_tuned:
        _gc_tuned = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def text_frame_header(length: int) -> bytes:
    """RFC 6455 header of one unmasked, final text frame (a server never masks)."""
    if length < 126:
        return bytes((0x81, length))
    if length < 65536:
        return bytes((0x81, 126)) + length.to_bytes(2, "big")
    return bytes((0x81, 127)) + length.to_bytes(8, "big")


def parser_waits_for_a_frame(conn: ServerProtocol) -> bool:
    """True when websockets' parser (a chain of generators: the handshake, frames, the reader)
    is suspended in ``StreamReader.at_eof``, i.e. before the first byte of a frame, and not
    inside one whose first bytes it has already consumed."""
    generator = conn.parser
    while (inner := getattr(generator, "gi_yieldfrom", None)) is not None:
        generator = inner
    return getattr(generator, "__name__", None) == "at_eof"


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with the smaller permessage-deflate state above and
    a synchronous send for the live fan-out."""

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        tune_gc_once()
        super().__init__(config, server_state, app_state, _loop)
        self.shortcut_message: bytes | None = None
        self.shortcut = None
        self.deflate_min_bytes = 0
        if config.ws_per_message_deflate:
            self.deflate_min_bytes = DEFLATE_MIN_BYTES
            self.conn = ServerProtocol(
                extensions=[deflate_factory()], max_size=config.ws_max_size, logger=self.conn.logger
            )

    def handle_connect(self, event) -> None:
        self.shortcut_message: bytes | None = None
        self.shortcut = None
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][SEND_NOW_EXTENSION] = self.send_now
            scope["extensions"][SHORTCUT_EXTENSION] = self.register_shortcut

    def register_shortcut(self, message: bytes, callback) -> None:
        """``callback()`` handles inbound text frames equal to ``message`` (the heartbeat) right
        here, or returns False to let that one go through the ASGI receive as usual."""
        self.shortcut_message, self.shortcut = message, callback

    def data_received(self, data: bytes) -> None:
        if self.shortcut is not None and self.answer_bare_frame(data):
            return
        super().data_received(data)

    def answer_bare_frame(self, data: bytes) -> bool:
        """The shortcut before websockets' parser, for the common case: ``data`` is exactly one
        whole, small, masked, final text frame that arrives while the parser waits for the start
        of a frame, and it is the shortcut's message. Anything else returns False untouched, and
        websockets parses it (and answers every protocol error) as usual.

        With 10,000 clients each heartbeat went through websockets' generator-based frame parser
        (reader buffer, three ``read_exact`` steps, the ``Frame`` object, the opcode enum, the
        permessage-deflate decoder), about 40 % of the Python time of the idle phase
        (bench/live.py idle_cpu_pct). Reading these 6-byte-header frames is RFC 6455 section 5.2;
        the payload of a compressed one is inflated per message as RFC 7692 section 7.2.2 says,
        which is only valid because this server requires ``client_no_context_takeover``.
        """
        conn = self.conn
        size = len(data)
        if (
            size < 6
            or size > 131  # header 2 + mask 4 + payload < 126
            or conn.state is not State.OPEN
            or conn.current_size is not None  # inside a fragmented message
            or conn.reader.buffer  # part of a frame is waiting
            or not parser_waits_for_a_frame(conn)
            or self.close_sent
            or not self.queue.empty()
        ):
            return False
        first, second = data[0], data[1]
        # FIN + text opcode, RSV2/RSV3 clear (RSV1 = compressed), masked, 7-bit length that fits.
        if first & 0xBF != 0x81 or second & 0x80 == 0 or (second & 0x7F) != size - 6:
            return False
        payload = apply_mask(data[6:], data[2:6])
        if first & 0x40:
            deflate = conn.extensions[0] if len(conn.extensions) == 1 else None
            if not isinstance(deflate, PerMessageDeflate) or not deflate.remote_no_context_takeover:
                return False
            try:
                inflater = zlib.decompressobj(wbits=-deflate.remote_max_window_bits)
                payload = inflater.decompress(payload + b"\x00\x00\xff\xff", len(self.shortcut_message) + 1)
            except zlib.error:
                return False
        return payload == self.shortcut_message and self.shortcut()

    def handle_text(self, event) -> None:
        # A heartbeat from every client every LIVE_HEARTBEAT_S was most of the idle CPU at 10,000
        # clients: the ASGI queue, pausing and resuming the socket, a task wake-up and the
        # consumer's dispatch, all to answer {"type":"ping"} (bench/live.py idle_cpu_pct).
        if (
            self.shortcut is not None
            and event.fin
            and event.data == self.shortcut_message
            and self.queue.empty()
            and not self.close_sent
            and self.shortcut()
        ):
            return
        super().handle_text(event)

    def send_now(self, payload: bytes) -> bool:
        """Write one text message (its UTF-8 payload) now; False when it cannot go right away
        (socket paused by flow control, closing), and the caller then uses the ASGI send.

        The ASGI send is a coroutine under channels' session wrapper, uvicorn's checks and
        websockets' frame objects: at 10,000 clients that was most of a delivery's Python cost
        (bench/live.py). A message below ``DEFLATE_MIN_BYTES`` is not compressed anyway, so
        its frame is just a header and the payload; a larger one still goes through
        websockets (permessage-deflate, this connection's compression context)."""
        if (
            not self.writable.is_set()
            or not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        if len(payload) < self.deflate_min_bytes or not self.conn.extensions:
            self.transport.write(text_frame_header(len(payload)) + payload)
        else:
            self.conn.send_text(payload)
            self.transport.write(b"".join(self.conn.data_to_send()))
        return True
