"""The load generator of ``bench/http_load.py``: raw HTTP/1.1 keep-alive connections on asyncio
(uvloop when installed), no client library, no Django in this process.

- ``open_loop``: each user sends one request every ``period_s`` at its own random phase,
  whatever the server does (open loop). A request's latency runs from the moment it was
  *scheduled* to its last response byte, so a slow server is not hidden by a user waiting on
  its own previous answer (coordinated omission). The generator's own lateness (how long after
  ``max(scheduled time, the user's previous answer)`` a request was written) is measured apart:
  more than 1 % of requests sent over 50 ms late makes the run invalid (``valid: false``).
- ``closed_loop``: connections sending back to back (a count or a duration).
- ``Probe``: ``GET PATH`` every 50 ms on its own connection during a load.
- ``tree_rss_mb``: resident memory of a process and all its descendants, from /proc.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import defaultdict
from pathlib import Path

from bench.common import percentile

REQUEST_TIMEOUT_S = 30.0
LATE_LIMIT_MS = 50.0
LATE_SHARE_LIMIT = 0.01


def run(coroutine):
    """Run ``coroutine`` on uvloop (the server's loop too) when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def request_bytes(method: str, path: str, headers: str = "", body: bytes | None = None) -> bytes:
    """One HTTP/1.1 request; ``headers`` is ready-made ``Name: value\\r\\n`` lines."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
    if body is None:
        return f"{head}\r\n".encode()
    return f"{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection (asyncio streams)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)

    @property
    def stale(self) -> bool:
        """The server closed it (idle keep-alive timeout) or we did."""
        return self.writer is None or self.writer.is_closing() or self.reader.at_eof()

    async def exchange(self, raw: bytes) -> int:
        """Send one request, read the whole answer (Content-Length or chunked); its status."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = 0, False, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        elif length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class Recorder:
    """Latencies and errors per request kind, the generator's lateness, connection events."""

    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.causes: dict[str, int] = defaultdict(int)  # an error's status ("503"), or its exception
        self.late_ms: list[float] = []
        self.examples: list[str] = []
        self.reconnects = 0  # the server had closed an idle connection: a new one was opened
        self.retried = 0  # a reused connection closed under a request: sent again on a new one

    def add(self, kind: str, ms: float, status: int, detail: str = "") -> None:
        self.latency[kind].append(ms)
        if not 200 <= status < 300:
            self.errors[kind] += 1
            self.causes[str(status or detail)] += 1
            if len(self.examples) < 5:
                self.examples.append(f"{kind}: {status or detail}")

    def summary(self, seconds: float) -> dict:
        everything = [ms for values in self.latency.values() for ms in values]
        late_over = sum(ms > LATE_LIMIT_MS for ms in self.late_ms)
        return {
            "requests": len(everything),
            # Answered (2xx) requests a second; a timed-out or failed request is not throughput.
            "rps": round((len(everything) - sum(self.errors.values())) / seconds, 1) if seconds else None,
            "p50_ms": round(percentile(everything, 0.5), 2),
            "p99_ms": round(percentile(everything, 0.99), 2),
            "max_ms": round(max(everything, default=float("nan")), 2),
            "errors": sum(self.errors.values()),
            "errors_by_cause": dict(sorted(self.causes.items())),
            "error_examples": self.examples,
            "by_kind": {
                kind: {
                    "n": len(values),
                    "p50_ms": round(percentile(values, 0.5), 2),
                    "p99_ms": round(percentile(values, 0.99), 2),
                    "errors": self.errors.get(kind, 0),
                }
                for kind, values in sorted(self.latency.items())
            },
            "late_p99_ms": round(percentile(self.late_ms, 0.99), 2) if self.late_ms else None,
            "late_max_ms": round(max(self.late_ms, default=0.0), 2),
            "late_over_50ms": late_over,
            "valid": late_over <= LATE_SHARE_LIMIT * max(1, len(self.late_ms)),
            "reconnects": self.reconnects,
            "retried": self.retried,
        }


class Slot:
    """A user's connection: reopened when the server closed it while idle."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: Connection | None = None

    async def open(self) -> None:
        self.connection = Connection(self.port)
        await self.connection.open()

    async def send(self, raw: bytes, recorder: Recorder) -> int:
        reused = self.connection is not None and not self.connection.stale
        if not reused:
            if self.connection is not None:
                recorder.reconnects += 1
                self.connection.close()
            await self.open()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                return await self.connection.exchange(raw)
        except (asyncio.IncompleteReadError, ConnectionError):
            if not reused:
                raise
            # The server closed a reused connection as the request went out (what a browser
            # retries): once more on a new connection.
            recorder.retried += 1
            self.connection.close()
            await self.open()
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                return await self.connection.exchange(raw)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


async def _timed(slot: Slot, raw: bytes, kind: str, since: float, recorder: Recorder) -> None:
    try:
        status, detail = await slot.send(raw, recorder), ""
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        status, detail = 0, type(exc).__name__
        slot.close()
    recorder.add(kind, (time.monotonic() - since) * 1000, status, detail)


async def open_slots(port: int, n: int, batch: int = 200) -> list[Slot]:
    """``n`` connections, opened ``batch`` at a time (the server's accept backlog)."""
    slots = [Slot(port) for _ in range(n)]
    for start in range(0, n, batch):
        await asyncio.gather(*(slot.open() for slot in slots[start : start + batch]))
    return slots


async def open_loop(port: int, users: list, pick, *, period_s: float, seconds: float, seed: int = 0) -> dict:
    """Every user sends ``pick(user, rng) -> (kind, raw)`` every ``period_s`` for ``seconds``,
    on its own connection (opened before the clock starts), at a random phase."""
    rng = random.Random(seed)
    recorder = Recorder()
    opened = time.monotonic()
    slots = await open_slots(port, len(users))
    open_s = time.monotonic() - opened
    begin = time.monotonic() + 0.2
    end = begin + seconds

    async def user(index: int) -> None:
        slot, who = slots[index], users[index]
        due = begin + rng.uniform(0, period_s)
        free = begin
        while due < end:
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            recorder.late_ms.append((time.monotonic() - max(due, free)) * 1000)
            kind, raw = pick(who, rng)
            await _timed(slot, raw, kind, due, recorder)
            free = time.monotonic()
            due += period_s

    cpu = time.process_time()
    await asyncio.gather(*(user(k) for k in range(len(users))))
    elapsed = time.monotonic() - begin
    cpu = time.process_time() - cpu
    for slot in slots:
        slot.close()
    result = recorder.summary(elapsed)
    result.update(
        users=len(users),
        period_s=period_s,
        offered_rps=round(len(users) / period_s, 1),
        seconds=round(elapsed, 1),
        connect_s=round(open_s, 2),
        generator_cpu_share=round(cpu / elapsed, 3),
    )
    return result


async def closed_loop(
    port: int, users: list, pick, *, connections: int, seconds: float | None = None, total: int | None = None,
    sample=None, sample_every_s: float = 2.0, seed: int = 0,
) -> dict:  # fmt: skip
    """``connections`` connections sending back to back until ``seconds`` pass or ``total``
    requests are sent; ``sample(done)`` is called every ``sample_every_s`` and at the end, and
    its answers are returned under ``samples``."""
    rng = random.Random(seed)
    recorder = Recorder()
    slots = await open_slots(port, connections)
    sent = 0
    samples: list = []
    begin = time.monotonic()
    end = begin + seconds if seconds is not None else float("inf")

    def more() -> bool:
        return time.monotonic() < end and (total is None or sent < total)

    async def client(index: int) -> None:
        nonlocal sent
        while more():
            sent += 1
            kind, raw = pick(users[sent % len(users)], rng)
            await _timed(slots[index], raw, kind, time.monotonic(), recorder)

    async def sampler() -> None:
        while more():
            await asyncio.sleep(sample_every_s)
            samples.append(sample(sum(map(len, recorder.latency.values()))))

    tasks = [client(k) for k in range(connections)]
    await asyncio.gather(*tasks, *([sampler()] if sample else []))
    elapsed = time.monotonic() - begin
    if sample:
        samples.append(sample(sum(map(len, recorder.latency.values()))))
    for slot in slots:
        slot.close()
    result = recorder.summary(elapsed)
    result.pop("late_p99_ms"), result.pop("late_max_ms"), result.pop("late_over_50ms"), result.pop("valid")
    result.update(connections=connections, seconds=round(elapsed, 1))
    if sample:
        result["samples"] = samples
    return result


class Probe:
    """``GET path`` every ``every_s`` on one connection while ``running``; latencies from send."""

    def __init__(self, port: int, path: str, every_s: float = 0.05) -> None:
        self.port, self.path, self.every_s = port, path, every_s
        self.latency: list[float] = []
        self.errors = 0
        self.running = True

    async def run(self) -> None:
        slot, recorder = Slot(self.port), Recorder()
        raw = request_bytes("GET", self.path)
        due = time.monotonic()
        while self.running:
            started = time.monotonic()
            try:
                status = await slot.send(raw, recorder)
            except (OSError, asyncio.IncompleteReadError, TimeoutError):
                status = 0
                slot.close()
            self.latency.append((time.monotonic() - started) * 1000)
            self.errors += status != 200
            due = max(due + self.every_s, time.monotonic())
            await asyncio.sleep(due - time.monotonic())
        slot.close()

    def summary(self) -> dict:
        return {
            "n": len(self.latency),
            "p50_ms": round(percentile(self.latency, 0.5), 2),
            "p99_ms": round(percentile(self.latency, 0.99), 2),
            "errors": self.errors,
        }


async def with_probes(port: int, load, paths=("/healthz", "/readyz")) -> tuple[dict, dict]:
    """Run the coroutine ``load`` with a probe per path beside it: (its result, {path: summary})."""
    probes = [Probe(port, path) for path in paths]
    tasks = [asyncio.create_task(probe.run()) for probe in probes]
    try:
        result = await load
    finally:
        for probe in probes:
            probe.running = False
        await asyncio.gather(*tasks)
    return result, {probe.path: probe.summary() for probe in probes}


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    return children


def tree_pids(pid: int) -> list[int]:
    children, out, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, ()))
    return out


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(pid: int) -> tuple[float, int]:
    """(resident MB of ``pid`` and its descendants, how many processes)."""
    pids = tree_pids(pid)
    return round(sum(rss_mb(p) for p in pids), 1), len(pids)


def worker_rss_mb(pid: int) -> list[float]:
    """Resident MB of each server worker: the processes uvicorn spawned (multiprocessing's
    ``spawn_main``), or ``pid`` itself when it has none (one process)."""
    workers = []
    for p in tree_pids(pid)[1:]:
        try:
            if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes():
                workers.append(round(rss_mb(p), 1))
        except OSError:
            continue
    return workers or [round(rss_mb(pid), 1)]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU seconds each of ``pids`` has used so far (gone ones left out)."""
    out = {}
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[p] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two ``cpu_seconds`` readings (``after`` may hold each process's
    last reading); a process that started in between counts from its start."""
    return sum(seconds - before.get(p, 0.0) for p, seconds in after.items())


def named_pids(*names: str) -> list[int]:
    """Processes whose command name is one of ``names`` (e.g. the PostgreSQL backends)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def tree_rss_detail(pid: int) -> dict[str, float]:
    """Resident MB of each process of the tree, keyed ``pid command``."""
    out = {}
    for p in tree_pids(pid):
        try:
            command = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80].strip()
        except OSError:
            continue
        out[f"{p} {command}"] = round(rss_mb(p), 1)
    return out
