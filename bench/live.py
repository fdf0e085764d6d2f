"""Live streams benchmark: A1's /ws/ against a raw `websockets` broadcast server (the ceiling).

    .venv/bin/python bench/live.py [--quick]

Everything runs on loopback with its own Redis (a private redis-server, so restarting it
disturbs nobody) and its own SQLite database. Servers (uvicorn + Redis) are pinned to core 0,
the load generator and publisher to core 1 (taskset / sched_setaffinity). Every loop is
bounded in count and in time. Writes bench/results/live.json (format: docs/benchmarks.md).

`--quick` (a smoke run, under a minute): 500 clients over 50 topics, 2 s delivery windows, one
recovery run of each kind.

Phases: channel-layer comparison; connections held (memory, idle CPU with heartbeats);
deliveries/latency over 1,000 topics with groups of 10..2,000; capacity vs the raw server;
one slow client; compression on the odds stream; recovery after kill -9 of a server and
after a Redis restart.

The load generator has to keep up with 10,000 connections on one core, or it is what gets
measured: clients are websockets' sans-I/O protocol with server frames parsed by hand in
``data_received`` (no task wake-up per frame), they still send compressed pings like a
browser; its garbage collector runs between phases only; the publisher sends what is due in
one pipeline every 5 ms. Each delivery window also records both processes' CPU and how busy
each core was in all (``core_busy_pct``: other people's work on these shared cores shows there).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, percentile, results_path  # noqa: E402

PY = sys.executable
SERVER_CORE, CLIENT_CORE = "0", "1"
PAD = "x" * 120  # ~200-byte messages, as in docs/performance.md
PUBLISH_TICK_S = 0.005
# The live namespace (LIVE_NAMESPACE) of the bench's servers and of its own publishers.
BENCH_NAMESPACE = "bench"


# --- helpers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_times() -> dict[str, tuple[int, int]]:
    """Per core (busy, total) jiffies from /proc/stat: how busy each core was, neighbours included."""
    times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name != "cpu":
            ticks = [int(v) for v in values]
            times[name] = (sum(ticks) - ticks[3] - ticks[4], sum(ticks))
    return times


def core_busy_pct(before: dict, after: dict) -> dict[str, float]:
    return {
        core: round(100 * (after[core][0] - before[core][0]) / max(1, after[core][1] - before[core][1]), 1)
        for core in after
        if core in before
    }


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pinned(cmd: list[str], core: str) -> list[str]:
    return ["taskset", "-c", core, *cmd] if shutil.which("taskset") else cmd


class Stack:
    """Redis, database and server processes for one bench run."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.redis_port = free_port()
        self.redis: subprocess.Popen | None = None
        self.servers: dict[int, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "a1site.settings",
            "SECRET_KEY": "bench-only-secret",
            "DEBUG": "false",
            "A1_VAR_DIR": str(workdir / "var"),
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OMP_NUM_THREADS": "1",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # The servers' live keys and channels; the bench's own publishers use the same.
            "LIVE_NAMESPACE": BENCH_NAMESPACE,
        }

    def start_redis(self) -> None:
        cmd = [
            "redis-server",
            "--port",
            str(self.redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--maxclients",
            "1000",
        ]
        self.redis = subprocess.Popen(pinned(cmd, SERVER_CORE), stdout=subprocess.DEVNULL)
        wait_port(self.redis_port)

    def restart_redis(self) -> float:
        started = time.monotonic()
        self.redis.kill()
        self.redis.wait(10)
        self.start_redis()
        return time.monotonic() - started

    def prepare_db(self) -> str:
        code = (  # one process for migrate and the token: each Django start costs ~2 s
            "from django.core.management import call_command;call_command('migrate',verbosity=0);"
            "from django.contrib.auth import get_user_model;from rest_framework.authtoken.models import Token;"
            "u,_=get_user_model().objects.get_or_create(username='bench');"
            "print(Token.objects.get_or_create(user=u)[0].key)"
        )
        out = subprocess.run(
            [PY, "manage.py", "shell", "-c", code], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        )
        return out.stdout.strip().splitlines()[-1]

    def start_servers(self, count: int) -> list[int]:
        """Start ``count`` A1 servers at once (each spends ~2 s importing Django), then wait."""
        ports = [self.start_server(wait=False) for _ in range(count)]
        for port in ports:
            wait_port(port)
        return ports

    async def astart_server(self, port: int | None = None, *, raw: bool = False) -> int:
        """start_server without blocking the load generator's event loop meanwhile."""
        return await asyncio.to_thread(self.start_server, port, raw=raw)

    def start_server(self, port: int | None = None, *, raw: bool = False, wait: bool = True) -> int:
        port = port or free_port()
        if raw:
            cmd = [PY, __file__, "--role", "raw-server", "--port", str(port), "--redis", self.env["REDIS_URL"]]
        else:
            cmd = [
                PY,
                "-m",
                "a1site.serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
                "--backlog",
                "4096",
            ]
        log = (self.workdir / f"server-{port}.log").open("a")
        self.servers[port] = subprocess.Popen(
            pinned(cmd, SERVER_CORE), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        if wait:
            wait_port(port)
        return port

    def kill_server(self, port: int) -> None:
        process = self.servers.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_server(self, port: int) -> None:
        process = self.servers.pop(port)
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()

    def close(self) -> None:
        for port in list(self.servers):
            self.stop_server(port)
        if self.redis:
            self.redis.kill()
            self.redis.wait(10)


# --- the publisher (its own process, core 1) -------------------------------------------------------


def run_publisher(args) -> None:
    from live.backends import RedisBroker

    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {int(CLIENT_CORE)})
    broker = RedisBroker(url=args.redis, history_size=1000, ttl_s=3600, namespace=BENCH_NAMESPACE)
    topics = json.loads(args.topics)
    odds = _odds_rows() if args.kind == "odds" else None
    published: list[list] = []
    errors = 0
    rng = random.Random(7)
    started_at = time.time()
    start = time.monotonic()
    n = 0
    limit = int(args.rate * args.duration)
    # Every PUBLISH_TICK_S, whatever is due goes in one pipeline: one synchronous round trip per
    # message made the publisher's rate depend on how fast Redis (on the busy server core) was
    # scheduled, so it fell behind the offered rate (and, in recovery runs, short of 1,000/s).
    while n < limit and time.monotonic() - start < args.duration + 5:
        due = min(limit, int((time.monotonic() - start) * args.rate) + 1)
        if due <= n:
            time.sleep(max(0.0, min(PUBLISH_TICK_S, start + due / args.rate - time.monotonic())))
            continue
        batch = []
        for k in range(n, due):
            topic = topics[k % len(topics)] if odds else rng.choice(topics)
            data = {**odds[k % len(odds)], "t": time.time()} if odds else {"t": time.time(), "n": k, "pad": PAD}
            batch.append(
                {"stream": topic, "topic": topic, "type": "bench", "ts": datetime.now(UTC).isoformat(), "data": data}
            )
        try:
            seqs = broker.publish_many(batch)
            published.extend([m["topic"], seq] for m, seq in zip(batch, seqs, strict=True))
        except Exception:
            errors += len(batch)
            time.sleep(0.01)
        n = due
        time.sleep(PUBLISH_TICK_S)
    Path(args.out).write_text(
        json.dumps(
            {"published": published, "errors": errors, "started_at": started_at, "publish_s": time.monotonic() - start}
        )
    )


def _odds_rows() -> list[dict]:
    rows = []
    text = (ROOT / "live" / "data" / "sample_odds_feed.csv").read_text()
    reader = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    prev: dict = {}
    for n, row in enumerate(reader):
        key = (row["game"], row["player"], row["stat"], row["book"])
        rows.append(
            {
                "ts": row["ts"].replace("Z", "+00:00"),
                "sport": row["sport"],
                "game": row["game"],
                "player": row["player"],
                "player_id": row["player_id"],
                "stat": row["stat"],
                "book": row["book"],
                "line": float(row["line"]),
                "over_odds": float(row["over_odds"]),
                "under_odds": float(row["under_odds"]),
                "id": n + 1,
                "prev_line": prev.get(key),
            }
        )
        prev[key] = float(row["line"])
    return rows


def publish_async(stack: Stack, workdir: Path, *, topics, rate: float, duration: float, kind: str = "bench"):
    out = workdir / f"published-{time.monotonic_ns()}.json"
    cmd = [
        PY,
        __file__,
        "--role",
        "publisher",
        "--redis",
        stack.env["REDIS_URL"],
        "--topics",
        json.dumps(topics),
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--out",
        str(out),
        "--kind",
        kind,
    ]
    return subprocess.Popen(pinned(cmd, CLIENT_CORE), cwd=ROOT), out


# --- the raw websockets ceiling ---------------------------------------------------------------------


def run_raw_server(args) -> None:
    import redis.asyncio as aioredis
    from websockets.asyncio.server import broadcast, serve

    from live.backends import RedisBroker

    async def main():
        topics: dict[str, set] = {}

        async def handler(ws):
            subscribed = []
            await ws.send('[{"type":"welcome"}]')
            try:
                async for text in ws:
                    message = json.loads(text)
                    if message.get("type") == "subscribe":
                        for topic in message["topics"]:
                            topics.setdefault(topic, set()).add(ws)
                            subscribed.append(topic)
                        await ws.send(
                            json.dumps([{"type": "subscribed", "topics": dict.fromkeys(message["topics"], 0)}])
                        )
                    elif message.get("type") == "ping":
                        await ws.send('[{"type":"pong"}]')
            finally:
                for topic in subscribed:
                    topics.get(topic, set()).discard(ws)

        client = aioredis.Redis.from_url(args.redis)
        pubsub = client.pubsub()
        channels = RedisBroker(url=args.redis, history_size=1, ttl_s=1, namespace=BENCH_NAMESPACE).channel_for("")
        await pubsub.psubscribe(channels + "*")
        prefix = len(channels)
        async with serve(handler, "127.0.0.1", args.port, ping_interval=None, max_queue=None):
            while True:
                message = await pubsub.get_message(timeout=5)
                if message and message["type"] == "pmessage":
                    members = topics.get(message["channel"].decode()[prefix:])
                    if members:
                        broadcast(members, message["data"].decode())

    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(main())


# --- load generator ----------------------------------------------------------------------------------


class _Wire(asyncio.Protocol):
    """One client connection driven by websockets' sans-I/O ClientProtocol, frames handled in
    data_received: no task wake-up per frame, so one load-generator core keeps up with 10,000
    connections (the asyncio client spent most of that core on its own machinery)."""

    def __init__(self, client: BenchClient, conn):
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.client = client
        self.conn = conn
        self.transport = None
        self.opened = loop.create_future()
        self.closed = loop.create_future()
        self.greeted = False
        self.closing = False  # we started the closing handshake
        self.buffer = bytearray()
        self.frames_by_hand = False
        self.compressed = False
        self.inflater = None
        self.inflate_bits = 15
        self.inflate_reset = False
        self.fragments: list[bytes] = []
        self.ping_handle = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.conn.send_request(self.conn.connect())
        self._write()

    def _write(self) -> None:
        for chunk in self.conn.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()
        if self.conn.close_expected() and not self.transport.is_closing():
            self.loop.call_later(2, self.transport.close)

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(Exception):  # closing underneath us
                self.conn.send_text(text.encode())
                self._write()

    def data_received(self, data: bytes) -> None:
        self.client.wire_bytes += len(data)
        if self.frames_by_hand:
            self._read_frames(data)
            return
        if not self.opened.done():
            # Only the HTTP response goes to websockets; the frames after it are read by hand.
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, rest = bytes(self.buffer[: end + 4]), bytes(self.buffer[end + 4 :])
            self.buffer = bytearray()
            self.conn.receive_data(head)
            self.conn.events_received()
            if self.conn.handshake_exc is not None:
                self.opened.set_exception(self.conn.handshake_exc)
                return
            self.opened.set_result(None)
            if self.conn.extensions:
                deflate = self.conn.extensions[0]
                self.inflate_bits = deflate.remote_max_window_bits
                self.inflate_reset = deflate.remote_no_context_takeover
                self.inflater = zlib.decompressobj(wbits=-self.inflate_bits)
            self.frames_by_hand = True
            if rest:
                self._read_frames(rest)
            return
        self.conn.receive_data(data)  # after a close frame: websockets finishes the handshake
        self.conn.events_received()
        self._write()

    def _read_frames(self, data: bytes) -> None:
        """Server frames (never masked) parsed here: websockets' generator-based parser cost the
        one load-generator core ~20 µs a frame. Text messages (compressed or not) go to the
        client; a close frame and whatever follows it go back to websockets."""
        buffer = self.buffer
        buffer += data
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            first, length = buffer[pos], buffer[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), pos + 10
            if size - start < length:
                break
            opcode = first & 0x0F
            if opcode == 0x8:  # close: websockets answers it and reports the code
                self.frames_by_hand = False
                self.conn.receive_data(bytes(buffer[pos:]))
                self.conn.events_received()
                self._write()
                self.buffer = bytearray()
                return
            payload = bytes(buffer[start : start + length])
            pos = start + length
            if opcode in (0x1, 0x0):  # text, continuation
                if opcode == 0x1:
                    self.compressed = bool(first & 0x40)
                self.fragments.append(payload)
                if first & 0x80:
                    message = self.fragments[0] if len(self.fragments) == 1 else b"".join(self.fragments)
                    self.fragments = []
                    if self.compressed:
                        if self.inflate_reset:
                            self.inflater = zlib.decompressobj(wbits=-self.inflate_bits)
                        message = self.inflater.decompress(message + b"\x00\x00\xff\xff")
                    self.client.on_frame(self, message)
            elif opcode == 0x9:  # ping (neither server sends them; answered anyway)
                self.conn.send_pong(payload)
                self._write()
        del buffer[:pos]

    def pause_for(self, seconds: float) -> None:
        """Stop reading the socket for a while: a slow reader, as TCP sees it."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
            self.loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def eof_received(self):
        self.conn.receive_eof()
        self._write()

    def connection_lost(self, exc) -> None:
        if self.ping_handle is not None:
            self.ping_handle.cancel()
        rcvd = self.conn.close_rcvd
        if rcvd is not None and rcvd.code and not self.closing:  # closed by the server (4413, 1012...)
            self.client.close_codes.append(rcvd.code)
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def schedule_ping(self, delay: float) -> None:
        self.ping_handle = self.loop.call_later(delay, self._ping)

    def _ping(self) -> None:
        self.send_text('{"type":"ping"}')
        self.schedule_ping(self.client.ping_s)

    async def close(self) -> None:
        self.closing = True
        if self.transport is None or self.transport.is_closing():
            return
        with contextlib.suppress(Exception):
            self.conn.send_close(1000)
            self._write()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 2)
        except TimeoutError:
            self.transport.abort()


class BenchClient:
    """One WebSocket client: subscribes, records what arrives (seq order, latency), pings."""

    def __init__(self, urls: list[str], topics: list[str], *, slow_s: float = 0.0, ping_s: float = 25.0):
        self.urls = urls
        self.topics = topics
        self.slow_s = slow_s
        self.ping_s = ping_s
        self.last: dict[str, int] = {}
        self.received: dict[str, list[int]] = {t: [] for t in topics}
        self.resyncs: dict[str, list[int]] = {t: [] for t in topics}
        self.latencies: list[float] = []
        self.count = 0
        self.wire_bytes = 0
        self.message_bytes = 0
        self.count_bytes = False  # re-serializing every message costs the load generator's core
        self.last_at = 0.0
        self.ready = asyncio.Event()
        self.close_codes: list[int] = []
        self.reconnect_s: list[float] = []
        self.stop = False
        self.ws = None
        self.record_latency = True
        self.compression = "deflate"
        self.lost_at = None

    async def run(self, *, reconnect: bool = False, deadline: float) -> None:
        from websockets.client import ClientProtocol
        from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
        from websockets.typing import Origin
        from websockets.uri import parse_uri

        loop = asyncio.get_running_loop()
        attempt = 0
        while not self.stop and time.monotonic() < deadline:
            uri = parse_uri(self.urls[attempt % len(self.urls)])
            extensions = enable_client_permessage_deflate(None) if self.compression == "deflate" else None
            conn = ClientProtocol(uri, origin=Origin("http://127.0.0.1"), extensions=extensions, max_size=None)
            wire = _Wire(self, conn)
            try:
                await asyncio.wait_for(loop.create_connection(lambda wire=wire: wire, uri.host, uri.port), 30)
                await asyncio.wait_for(wire.opened, 30)
                self.ws = wire
                await wire.closed
            except BaseException as exc:
                if wire.transport is not None:
                    wire.transport.abort()
                if isinstance(exc, asyncio.CancelledError):
                    raise
            if not reconnect or self.stop:
                return
            self.lost_at = self.lost_at or time.monotonic()
            attempt += 1
            await asyncio.sleep(0.05 + random.random() * 0.2)

    def on_frame(self, wire: _Wire, text: bytes) -> None:
        if self.stop:
            return
        now = time.time()
        batch = json.loads(text)
        if isinstance(batch, dict):
            batch = [batch]
        if not wire.greeted:  # the welcome: (re)subscribe, then heartbeat
            wire.greeted = True
            fresh = [t for t in self.topics if t not in self.last]
            if self.last:
                wire.send_text(json.dumps({"type": "resume", "topics": self.last}))
            if fresh:
                wire.send_text(json.dumps({"type": "subscribe", "topics": fresh}))
            wire.schedule_ping(random.random() * self.ping_s)
        for message in batch:
            self._handle(message, now)
        if self.slow_s:
            wire.pause_for(self.slow_s)

    def _handle(self, message: dict, now: float) -> None:
        kind = message.get("type")
        if kind == "resync":
            self.resyncs.setdefault(message["topic"], []).append(message["seq"])
            self.last[message["topic"]] = message["seq"]
        elif "seq" in message and "topic" in message:
            topic, seq = message["topic"], message["seq"]
            self.count += 1
            self.last_at = now
            if self.count_bytes:
                self.message_bytes += len(json.dumps(message, separators=(",", ":")))
            self.received.setdefault(topic, []).append(seq)
            self.last[topic] = seq
            data = message.get("data") or {}
            if self.record_latency and "t" in data:
                self.latencies.append((now - data["t"]) * 1000)
        elif kind == "subscribed":
            for topic, seq in message["topics"].items():
                self.last.setdefault(topic, seq)
                if not message.get("resumed"):
                    self.last[topic] = seq
                    self.received.setdefault(topic, [])
            self.ready.set()
            if self.lost_at is not None:
                self.reconnect_s.append(time.monotonic() - self.lost_at)
                self.lost_at = None


async def connect_all(clients, *, concurrency: int, deadline: float, reconnect=False) -> list[asyncio.Task]:
    gate = asyncio.Semaphore(concurrency)
    tasks = []

    async def one(client):
        async with gate:
            task = asyncio.get_running_loop().create_task(client.run(reconnect=reconnect, deadline=deadline))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(client.ready.wait(), timeout=min(20.0, max(1.0, deadline - time.monotonic())))
            return task

    tasks = await asyncio.gather(*(one(c) for c in clients))
    return list(tasks)


def group_layout(n_clients: int, n_topics: int, prefix: str = "odds.game.b") -> list[list[str]]:
    """Each client follows two topics; one topic of 20 % of clients, four of 5 %, the rest ~16."""
    sizes = [max(10, int(0.2 * n_clients))] + [max(10, int(0.05 * n_clients))] * 4
    rest = 2 * n_clients - sum(sizes)
    others = n_topics - len(sizes)
    sizes += [rest // others + (1 if i < rest % others else 0) for i in range(others)]
    slots = [f"{prefix}{t}" for t, size in enumerate(sizes) for _ in range(size)]
    layout: list[list[str]] = [[] for _ in range(n_clients)]
    for j, topic in enumerate(slots):
        layout[j % n_clients].append(topic)
    return layout


async def stop_clients(clients, tasks) -> None:
    for client in clients:
        client.stop = True
    # All at once: one by one, 1,000 closing handshakes took seconds of the quick run.
    closing = [asyncio.wait_for(c.ws.close(), 2) for c in clients if c.ws is not None]
    await asyncio.gather(*closing, return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- phases ---------------------------------------------------------------------------------------------


async def measure_delivery(stack, workdir, clients, topics, *, rate, duration, settle=2.0, server_pid=None) -> dict:
    """Deliveries/s and latency at one offered rate; also how busy each core's side was (if the
    load generator's core is saturated, the number measures the client, not the server)."""
    for client in clients:
        client.latencies.clear()
        client.count = 0
        client.last_at = 0.0
    layout_sizes: dict[str, int] = {}
    for client in clients:
        for topic in client.topics:
            layout_sizes[topic] = layout_sizes.get(topic, 0) + 1
    process, out = publish_async(stack, workdir, topics=topics, rate=rate, duration=duration)
    started = time.monotonic()
    client_cpu0 = time.process_time()
    server_cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
    cores0 = core_times()
    while process.poll() is None and time.monotonic() - started < duration + 30:
        await asyncio.sleep(0.2)
    publish_end = time.monotonic()
    report = json.loads(out.read_text())
    expected = sum(layout_sizes.get(t, 0) for t, _ in report["published"])
    settle_deadline = publish_end + settle + 10
    while time.monotonic() < settle_deadline:
        received = sum(c.count for c in clients)
        if received >= expected or time.monotonic() > publish_end + settle:
            break
        await asyncio.sleep(0.1)
    elapsed = max(duration, time.monotonic() - started)
    busy_s = time.monotonic() - started
    client_cpu_pct = (time.process_time() - client_cpu0) / busy_s * 100
    server_cpu_pct = (cpu_seconds(server_pid) - server_cpu0) / busy_s * 100 if server_pid else None
    cores = core_busy_pct(cores0, core_times())
    received = sum(c.count for c in clients)
    latencies = [v for c in clients for v in c.latencies]
    # From the first publish to the last arrival: the publisher's own start-up (a Python process
    # importing redis, ~0.5 s) and the polling above are not delivery time.
    window = max(duration, max((c.last_at for c in clients), default=0.0) - report["started_at"])
    return {
        "deliveries_per_s": received / window,
        "window_s": window,
        "expected": expected,
        "received": received,
        "dropped": max(0, expected - received),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "elapsed": elapsed,
        "load_generator_cpu_pct": client_cpu_pct,
        "server_cpu_pct": server_cpu_pct,
        "core_busy_pct": cores,  # everything on each core, other people's work included
        "publish_s": report.get("publish_s"),
        "publish_errors": report.get("errors"),
    }


def median_window(windows: list[dict]) -> dict:
    """The window with the median p99, plus a summary of every window."""
    chosen = dict(sorted(windows, key=lambda w: w["p99_ms"])[len(windows) // 2])
    keys = ("deliveries_per_s", "p50_ms", "p99_ms", "dropped", "server_cpu_pct", "core_busy_pct")
    chosen["windows"] = [{k: w[k] for k in keys} for w in windows]
    return chosen


async def memory_without_deflate(stack, port: int, token, n_clients: int) -> float:
    """KiB per connection when the client does not negotiate permessage-deflate (own server)."""
    pid = stack.servers[port].pid
    url = f"ws://127.0.0.1:{port}/ws/?token={token}"
    warm = [BenchClient([url], ["odds.nba"]) for _ in range(20)]
    await stop_clients(warm, await connect_all(warm, concurrency=20, deadline=time.monotonic() + 30))
    await asyncio.sleep(1.0)
    before = rss_kb(pid)
    clients = [BenchClient([url], topics) for topics in group_layout(n_clients, max(10, n_clients // 10))]
    for client in clients:
        client.compression = None
    tasks = await connect_all(clients, concurrency=100, deadline=time.monotonic() + 120)
    await asyncio.sleep(1.0)
    held = sum(1 for c in clients if c.ready.is_set())
    kb = (rss_kb(pid) - before) / max(1, held)
    await stop_clients(clients, tasks)
    stack.stop_server(port)
    return kb


async def phase_connections(stack, workdir, token, n_clients, n_topics, quick) -> dict:
    """Memory, idle CPU and delivery on one server; it is left running for phase_compression."""
    bare_port, port = await asyncio.to_thread(stack.start_servers, 2)
    kb_no_deflate = await memory_without_deflate(stack, bare_port, token, min(n_clients, 300 if quick else 2000))
    pid = stack.servers[port].pid
    url = f"ws://127.0.0.1:{port}/ws/?token={token}"
    # Warm the server (imports, DB connection, first handshakes) before the memory baseline.
    warm = [BenchClient([url], ["odds.nba"]) for _ in range(20)]
    warm_tasks = await connect_all(warm, concurrency=20, deadline=time.monotonic() + 30)
    await stop_clients(warm, warm_tasks)
    await asyncio.sleep(0.5 if quick else 1.0)
    rss_before = rss_kb(pid)
    layout = group_layout(n_clients, n_topics)
    clients = [BenchClient([url], topics) for topics in layout]
    t0 = time.monotonic()
    tasks = await connect_all(clients, concurrency=100, deadline=t0 + (60 if quick else 240))
    connect_s = time.monotonic() - t0
    held = sum(1 for c in clients if c.ready.is_set())
    await asyncio.sleep(1.0 if quick else 2.0)
    rss_after = rss_kb(pid)
    idle_window = 2.0 if quick else 30.0
    cpu0 = cpu_seconds(pid)
    await asyncio.sleep(idle_window)
    idle_cpu = (cpu_seconds(pid) - cpu0) / idle_window * 100
    topics = sorted({t for c in clients for t in c.topics})
    target_rate = 8000 / (2 * n_clients / n_topics) * 1.25  # offered: 10,000 deliveries/s
    duration, settle = (2.0, 1.0) if quick else (15.0, 2.0)
    # Base and one-slow-client windows alternate, three of each in a full run, and each reports
    # the window with the median p99 (all of them are in the notes): on these shared cores one
    # window's p99 moved from 0.3 to 2.8 s with the neighbours' load (core_busy_pct), and
    # adjacent pairs compare the slow client under the same conditions.
    bases, slows, slow_close_codes = [], [], []
    for _ in range(1 if quick else 3):
        bases.append(
            await measure_delivery(
                stack, workdir, clients, topics, rate=target_rate, duration=duration, settle=settle, server_pid=pid
            )
        )
        # One client reading 10× slower than the 50 ms batches arrive, on the biggest topic.
        slow = BenchClient([url], [topics[0]], slow_s=0.5)
        slow.record_latency = False
        slow_task = (await connect_all([slow], concurrency=1, deadline=time.monotonic() + 30))[0]
        slows.append(
            await measure_delivery(
                stack, workdir, clients, topics, rate=target_rate, duration=duration, settle=settle, server_pid=pid
            )
        )
        slow_close_codes += slow.close_codes
        await stop_clients([slow], [slow_task])
    base, with_slow = median_window(bases), median_window(slows)
    capacity = await measure_delivery(
        stack, workdir, clients, topics, rate=target_rate * 3, duration=duration, settle=settle, server_pid=pid
    )
    await stop_clients(clients, tasks)
    return {
        "port": port,
        "held": held,
        "connect_s": connect_s,
        "kb_per_connection": (rss_after - rss_before) / max(1, held),
        "kb_no_deflate": kb_no_deflate,
        "idle_cpu_pct": idle_cpu,
        "base": base,
        "with_slow": with_slow,
        "capacity": capacity,
        "slow_close_codes": slow_close_codes,
        "topics": topics,
        "layout": layout,
        "rate": target_rate,
        "duration": duration,
        "settle": settle,
    }


async def phase_raw(stack, workdir, layout, topics, rate, duration, settle, quick) -> dict:
    port = await stack.astart_server(raw=True)
    url = f"ws://127.0.0.1:{port}/"
    clients = [BenchClient([url], t) for t in layout]
    tasks = await connect_all(clients, concurrency=100, deadline=time.monotonic() + (60 if quick else 240))
    await asyncio.sleep(1.0)
    capacity = await measure_delivery(
        stack,
        workdir,
        clients,
        topics,
        rate=rate * 3,
        duration=duration,
        settle=settle,
        server_pid=stack.servers[port].pid,
    )
    await stop_clients(clients, tasks)
    stack.stop_server(port)
    return capacity


async def phase_compression(stack, workdir, token, port: int, quick: bool) -> dict:
    """The odds stream through the (idle) server of phase_connections."""
    url = f"ws://127.0.0.1:{port}/ws/?token={token}"
    client = BenchClient([url], ["odds.nba"])
    client.count_bytes = True
    tasks = await connect_all([client], concurrency=1, deadline=time.monotonic() + 30)
    client.wire_bytes = client.message_bytes = 0
    process, _ = publish_async(stack, workdir, topics=["odds.nba"], rate=400, duration=1.5 if quick else 3, kind="odds")
    deadline = time.monotonic() + 20
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    ratio = client.message_bytes / max(1, client.wire_bytes)
    result = {
        "compression_ratio": ratio,
        "messages": client.count,
        "wire_bytes": client.wire_bytes,
        "message_bytes": client.message_bytes,
    }
    await stop_clients([client], tasks)
    stack.stop_server(port)
    return result


def check_exactly_once(clients, published) -> tuple[int, int]:
    """Gaps and duplicates: every published seq after a client's start must have arrived once,
    in order, unless an explicit resync for that topic covers it."""
    by_topic: dict[str, list[int]] = {}
    for topic, seq in published:
        by_topic.setdefault(topic, []).append(seq)
    gaps = duplicates = 0
    for client in clients:
        for topic in client.topics:
            got = client.received.get(topic, [])
            if len(got) != len(set(got)) or got != sorted(got):
                duplicates += len(got) - len(set(got)) or 1
            resync_points = sorted(client.resyncs.get(topic, []))
            start = client.start_seq.get(topic, 0)
            received = set(got)
            for seq in by_topic.get(topic, []):
                if seq <= start or seq in received:
                    continue
                if any(r >= seq for r in resync_points):
                    continue  # explicitly told to reload: not a silent gap
                gaps += 1
    return gaps, duplicates


async def phase_recovery(stack, workdir, token, *, runs_kill: int, runs_redis: int, quick: bool) -> dict:
    ports = await asyncio.to_thread(stack.start_servers, 2)
    results = []
    n_clients, topics = (
        (100, [f"games.r{i}" for i in range(20)]) if quick else (200, [f"games.r{i}" for i in range(50)])
    )
    plan = ["kill"] * runs_kill + ["redis"] * runs_redis
    for run, kind in enumerate(plan):
        urls = [f"ws://127.0.0.1:{p}/ws/?token={token}" for p in ports]
        clients = []
        for i in range(n_clients):
            order = urls[i % 2 :] + urls[: i % 2]  # half start on each server; fail over to the other
            client = BenchClient(order, random.Random(i + run).sample(topics, 3))
            client.record_latency = False
            clients.append(client)
        deadline = time.monotonic() + 90
        tasks = await connect_all(clients, concurrency=50, deadline=deadline, reconnect=True)
        for client in clients:
            client.start_seq = dict(client.last)
        process, out = publish_async(stack, workdir, topics=topics, rate=1000, duration=1.5 if quick else 4.0)
        await asyncio.sleep(0.5 if quick else 1.5)
        if kind == "kill":
            victim = ports[run % 2]
            stack.kill_server(victim)
            ports[run % 2] = await stack.astart_server(victim)  # back for the next run (clients already moved)
        else:
            await asyncio.to_thread(stack.restart_redis)
        wait_deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < wait_deadline:
            await asyncio.sleep(0.1)
        published = json.loads(out.read_text())["published"]
        # Let every client catch up (bounded): 10 s is the target for being back.
        settle = time.monotonic() + 10
        while time.monotonic() < settle:
            if all(
                all(
                    not c.received.get(t) or c.received[t][-1] >= _last(published, t) or c.resyncs.get(t)
                    for t in c.topics
                )
                for c in clients
            ):
                break
            await asyncio.sleep(0.2)
        gaps, duplicates = check_exactly_once(clients, published)
        back = [s for c in clients for s in c.reconnect_s]
        results.append(
            {
                "kind": kind,
                "gaps": gaps,
                "duplicates": duplicates,
                "published": len(published),
                "resyncs": sum(len(v) for c in clients for v in c.resyncs.values()),
                "reconnected": len(back),
                "max_back_s": max(back, default=0.0),
            }
        )
        await stop_clients(clients, tasks)
        print(f"  recovery run {run + 1}/{len(plan)} ({kind}): {results[-1]}", flush=True)
    for port in ports:
        stack.stop_server(port)
    return {"runs": results}


def _last(published, topic) -> int:
    return max((seq for t, seq in published if t == topic), default=0)


async def phase_layers(stack, quick) -> dict:
    """Per-process fan-out cost: channels-redis layers vs one subscription + local fan-out (the hub)."""
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from live.backends import RedisBroker
    from live.hub import Hub

    members, messages = (500, 10) if quick else (2000, 20)
    url = stack.env["REDIS_URL"]
    results = {}
    for name, layer in [
        ("RedisChannelLayer", RedisChannelLayer(hosts=[url], capacity=10_000)),
        ("RedisPubSubChannelLayer", RedisPubSubChannelLayer(hosts=[url])),
    ]:
        channels = [await layer.new_channel() for _ in range(members)]
        for channel in channels:
            await layer.group_add("bench", channel)
        received = 0

        async def reader(channel, layer=layer):
            nonlocal received
            for _ in range(messages):
                await layer.receive(channel)
                received += 1

        readers = [asyncio.create_task(reader(c)) for c in channels]
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        send_t0 = time.perf_counter()
        for n in range(messages):
            await layer.group_send("bench", {"type": "bench", "n": n, "pad": PAD})
        send_ms = (time.perf_counter() - send_t0) * 1000 / messages
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*readers), timeout=60)
        elapsed = time.perf_counter() - t0
        results[name] = {
            "deliveries_per_s": received / elapsed,
            "group_send_ms": send_ms,
            "received": received,
            "expected": members * messages,
        }
        for task in readers:
            task.cancel()
        with contextlib.suppress(Exception):
            await layer.flush()
    broker = RedisBroker(url=url, history_size=1000, ttl_s=600, namespace=BENCH_NAMESPACE)
    hub = Hub(asyncio.get_running_loop(), broker, batch_window_s=0.05, sweep_interval_s=60)
    count = 0
    done = asyncio.Event()

    class Sink:
        def enqueue(self, item):
            nonlocal count
            count += 1
            if count >= members * messages:
                done.set()

        def flush(self):
            pass

        def check_idle(self, now):
            pass

    from live.engine.protocol import NO_FILTERS

    for _ in range(members):
        await hub.subscribe(Sink(), "bench.hub", label="bench.hub", filters=NO_FILTERS, after=None)
    t0 = time.perf_counter()
    send_t0 = time.perf_counter()
    for n in range(messages):
        await asyncio.to_thread(
            broker.publish, stream="bench.hub", topic="bench.hub", type="bench", ts="", data={"n": n, "pad": PAD}
        )
    send_ms = (time.perf_counter() - send_t0) * 1000 / messages
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(done.wait(), 60)
    elapsed = time.perf_counter() - t0
    results["hub (one subscription per process, local fan-out)"] = {
        "deliveries_per_s": count / elapsed,
        "group_send_ms": send_ms,
        "received": count,
        "expected": members * messages,
    }
    await hub.listener.close()
    return {"members": members, "messages": messages, "layers": results}


# --- main ---------------------------------------------------------------------------------------------


def metric(name, value, unit, better, target=None, baseline=None):
    row = {
        "name": name,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "better": better,
    }
    if target is not None:
        row["target"] = target
    if baseline is not None:
        row["baseline"] = baseline
    return row


async def orchestrate(args) -> dict:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {int(CLIENT_CORE)})
    # The load generator's own garbage collections (10,000 clients: full ones take ~1 s) would
    # be counted as delivery latency: it collects between phases only (lap()).
    gc.disable()
    quick = args.quick
    workdir = Path(tempfile.mkdtemp(prefix="a1-bench-live-"))
    stack = Stack(workdir)
    stack.start_redis()
    token = stack.prepare_db()
    os.environ["REDIS_URL"] = stack.env["REDIS_URL"]
    n_clients = args.clients or (500 if quick else 10_000)
    n_topics = 50 if quick else 1000
    notes = {}
    timings: dict[str, float] = {}
    clock = [time.monotonic()]

    def lap(name: str) -> None:
        gc.collect()
        now = time.monotonic()
        timings[name] = round(now - clock[0], 1)
        clock[0] = now
        print(f"  ({name}: {timings[name]} s)", flush=True)

    try:
        lap("setup")
        print("channel layers ...", flush=True)
        layers = await phase_layers(stack, quick)
        print(json.dumps(layers, indent=1), flush=True)
        lap("layers")
        print(f"connections: {n_clients} clients over {n_topics} topics ...", flush=True)
        conns = await phase_connections(stack, workdir, token, n_clients, n_topics, quick)
        print({k: v for k, v in conns.items() if k not in ("topics", "layout")}, flush=True)
        lap("connections")
        print("raw websockets ceiling ...", flush=True)
        raw = await phase_raw(
            stack, workdir, conns["layout"], conns["topics"], conns["rate"], conns["duration"], conns["settle"], quick
        )
        print(raw, flush=True)
        lap("raw")
        print("compression ...", flush=True)
        compression = await phase_compression(stack, workdir, token, conns["port"], quick)
        print(compression, flush=True)
        lap("compression")
        print("recovery ...", flush=True)
        runs_kill, runs_redis = (1, 1) if quick else (20, 5)
        recovery = await phase_recovery(stack, workdir, token, runs_kill=runs_kill, runs_redis=runs_redis, quick=quick)
        lap("recovery")
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    base, with_slow, capacity = conns["base"], conns["with_slow"], conns["capacity"]
    slow_increase = (with_slow["p99_ms"] - base["p99_ms"]) / base["p99_ms"] * 100 if base["p99_ms"] else 0
    runs = recovery["runs"]
    notes["layers"] = layers
    notes["recovery_runs"] = runs
    notes["clients"] = n_clients
    notes["topics"] = n_topics
    notes["phase_s"] = timings
    metrics = [
        metric("connections_held", conns["held"], "connections", "higher", 10_000),
        metric("connect_s", conns["connect_s"], "s", "lower"),
        metric("kb_per_connection", conns["kb_per_connection"], "KiB", "lower", 60),
        metric("kb_per_connection_without_deflate", conns["kb_no_deflate"], "KiB", "lower", 60),
        metric("idle_cpu_pct", conns["idle_cpu_pct"], "% of one core", "lower", 10),
        metric("deliveries_per_s", base["deliveries_per_s"], "msg/s", "higher", 8000),
        metric("p50_ms", base["p50_ms"], "ms", "lower"),
        metric("p99_ms", base["p99_ms"], "ms", "lower", 300),
        metric("dropped", base["dropped"], "messages", "lower", 0),
        metric(
            "capacity_deliveries_per_s",
            capacity["deliveries_per_s"],
            "msg/s",
            "higher",
            baseline={"name": "raw_websockets_deliveries_per_s", "value": round(raw["deliveries_per_s"], 1)},
        ),
        metric(
            "ratio_to_raw",
            capacity["deliveries_per_s"] / max(1, raw["deliveries_per_s"]),
            "ratio",
            "higher",
            0.6,
            baseline={"name": "raw_websockets_deliveries_per_s", "value": round(raw["deliveries_per_s"], 1)},
        ),
        metric(
            "slow_client_p99_increase_pct",
            slow_increase,
            "%",
            "lower",
            10,
            baseline={"name": "p99_ms_without_slow_client", "value": round(base["p99_ms"], 1)},
        ),
        metric("compression_ratio", compression["compression_ratio"], "ratio", "higher", 3),
        metric("recovery_gaps", sum(r["gaps"] + r["duplicates"] for r in runs), "messages", "lower", 0),
        metric("recovery_runs", len(runs), "runs", "higher", 20),
        metric("recovery_max_back_s", max((r["max_back_s"] for r in runs), default=0.0), "s", "lower", 10),
    ]
    return {
        "bench": "live",
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "metrics": metrics,
        "notes": notes
        | {
            "with_slow_client": with_slow,
            "base": base,
            "capacity": capacity,
            "raw": raw,
            "compression": compression,
            "slow_client_close_codes": conns["slow_close_codes"],
        },
    }


def print_table(result: dict) -> None:
    print(f"\n{'metric':34} {'value':>14} {'target':>10}  unit")
    for row in result["metrics"]:
        target = row.get("target", "")
        print(f"{row['name']:34} {row['value']!s:>14} {target!s:>10}  {row['unit']}")
    layers = result["notes"]["layers"]
    print(f"\nfan-out to {layers['members']} receivers in one process ({layers['messages']} messages):")
    for name, row in layers["layers"].items():
        print(f"  {name:52} {row['deliveries_per_s']:>10.0f} deliveries/s  send {row['group_send_ms']:.2f} ms/msg")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int, default=0)
    parser.add_argument("--role", default="bench")
    parser.add_argument("--port", type=int)
    parser.add_argument("--redis")
    parser.add_argument("--topics")
    parser.add_argument("--rate", type=float)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--out")
    parser.add_argument("--kind", default="bench")
    args = parser.parse_args()
    if args.role == "publisher":
        run_publisher(args)
        return
    if args.role == "raw-server":
        run_raw_server(args)
        return
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    started = time.monotonic()
    result = asyncio.run(orchestrate(args))
    result["notes"]["wall_s"] = round(time.monotonic() - started, 1)
    out = results_path("live", full=not args.quick)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print_table(result)
    print(f"\nwrote {out} in {result['notes']['wall_s']}s")


if __name__ == "__main__":
    main()
