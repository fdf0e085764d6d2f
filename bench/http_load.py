"""HTTP under load (a first part of issue 17's "many users at once"): one server process
(``python -m a1site.serve``, embedded mode: SQLite, local-memory cache) in a scratch folder
with the demo data (``--quick``: the small demo).

Two loads in the same run, each ``--clients`` keep-alive connections sending requests back to
back for ``--seconds``:

- **props**: ``GET /api/props/?sport=nba&page=N`` with a token (a page of 50, random pages of
  the first 20), the list the issue measured at ~30 ms a request;
- **plain** (the baseline): ``GET /accounts/login/``, a plain Django template view (no DRF,
  no query), through the same server, middleware and connections.

During each, one more connection asks ``GET /healthz`` every 50 ms (answered on the event
loop) and another ``GET /readyz`` (a Django view, queued behind the load like every view):
``healthz_p99_ms_under_load`` is the /healthz p99 during the props load (target ≤ 50 ms),
with the /readyz p99 in the same load as its baseline. ``props_rps_vs_plain`` is the props load's throughput over
the plain view's. Not yet here (the rest of the issue): the 10,000-user services-mode run,
the mixed page/prediction/job mix, the soak and memory figures.

    .venv/bin/python bench/http_load.py [--quick] [--clients 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import embedded_scratch_env, machine, percentile, results_path, serve_until_healthy  # noqa: E402

HEALTHZ_EVERY_S = 0.05
HEALTHZ_TARGET_MS = 50


def setup_environment(scratch: Path) -> dict:
    return embedded_scratch_env(
        scratch,
        # The load comes from one address and one user: throttles would measure themselves.
        THROTTLE_USER="100000000/min",
        THROTTLE_ANON="100000000/min",
    )


def prepare(quick: bool) -> str:
    """Migrate, load the demo data, and return a user's token."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command("load_demo", "--no-progress", "--as-of", "2029-09-01", *(["--small"] if quick else []), verbosity=0)
    print(f"demo data loaded in {time.perf_counter() - started:.1f} s", flush=True)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    return Token.objects.create(user=user).key


def start_server(env: dict, scratch: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "a1site.serve", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    return serve_until_healthy(command, env=env, log_path=scratch / "server.log", port=port)


class Connection:
    """One keep-alive HTTP/1.1 connection (asyncio streams; no client library in the way)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, path: str) -> int:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.extra}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def run_load(port: int, *, paths, headers: dict, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    probes: dict[str, list[float]] = {"/healthz": [], "/readyz": []}
    errors = 0
    stop = time.monotonic() + seconds

    async def client() -> None:
        nonlocal errors
        connection = Connection(port, headers)
        await connection.open()
        try:
            while time.monotonic() < stop:
                started = time.perf_counter()
                status = await connection.get(random.choice(paths))
                latencies.append((time.perf_counter() - started) * 1000)
                errors += status >= 400
        finally:
            connection.close()

    async def prober(path: str) -> None:
        connection = Connection(port, {})
        await connection.open()
        try:
            while time.monotonic() < stop:
                started = time.perf_counter()
                assert await connection.get(path) == 200
                probes[path].append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(HEALTHZ_EVERY_S)
        finally:
            connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(prober(path) for path in probes), *(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "errors": errors,
        "healthz_p99_ms": percentile(probes["/healthz"], 0.99),
        "healthz_samples": len(probes["/healthz"]),
        # The same probe through Django's thread (a view with two cheap checks): what /healthz
        # cost before it moved to the event loop.
        "readyz_p99_ms": percentile(probes["/readyz"], 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small demo data, 5 s per load")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--port", type=int, default=18310)
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    with tempfile.TemporaryDirectory(prefix="a1-http-load-") as folder:
        scratch = Path(folder)
        env = setup_environment(scratch)
        token = prepare(args.quick)
        server = start_server(env, scratch, args.port)
        try:
            loads = {}
            props = [f"/api/props/?sport=nba&page={page}" for page in range(1, 21)]
            for name, paths, headers in (
                ("plain", ["/accounts/login/"], {}),
                ("props", props, {"Authorization": f"Token {token}"}),
            ):
                asyncio.run(run_load(args.port, paths=paths[:1], headers=headers, clients=2, seconds=1.0))  # warm-up
                loads[name] = asyncio.run(
                    run_load(args.port, paths=paths, headers=headers, clients=args.clients, seconds=seconds)
                )
                print(f"{name:>6}: {json.dumps({k: round(v, 2) for k, v in loads[name].items()})}", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    plain, props_load = loads["plain"], loads["props"]
    metrics = [
        {
            "name": "healthz_p99_ms_under_load",
            "value": round(props_load["healthz_p99_ms"], 2),
            "unit": "ms",
            "better": "lower",
            "target": HEALTHZ_TARGET_MS,
            "baseline": {"name": "readyz_via_django_p99_ms_under_load", "value": round(props_load["readyz_p99_ms"], 2)},
        },
        {
            "name": "healthz_p99_ms_under_plain_load",
            "value": round(plain["healthz_p99_ms"], 2),
            "unit": "ms",
            "better": "lower",
            "target": HEALTHZ_TARGET_MS,
            "baseline": {
                "name": "readyz_via_django_p99_ms_under_plain_load",
                "value": round(plain["readyz_p99_ms"], 2),
            },
        },
        {
            "name": "props_rps_vs_plain",
            "value": round(props_load["rps"] / plain["rps"], 3),
            "unit": "ratio",
            "better": "higher",
            "baseline": {"name": "plain_view_rps", "value": round(plain["rps"], 1)},
        },
        {"name": "props_rps", "value": round(props_load["rps"], 1), "unit": "req/s", "better": "higher"},
        {"name": "props_p99_ms", "value": round(props_load["p99_ms"], 1), "unit": "ms", "better": "lower"},
        {"name": "props_errors", "value": props_load["errors"], "unit": "count", "better": "lower", "target": 0},
    ]
    print(f"\n{'metric':<32}{'value':>10}  baseline")
    for row in metrics:
        base = row.get("baseline")
        print(f"{row['name']:<32}{row['value']:>10}  {base['name'] + ' ' + str(base['value']) if base else ''}")
    result = {
        "bench": "http_load",
        "machine": machine(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": {
            "clients": args.clients,
            "seconds": seconds,
            "quick": args.quick,
            "server": "a1site.serve, 1 process",
        },
        "metrics": metrics,
    }
    path = results_path("http_load", full=not args.quick and args.seconds is None and args.clients == 50)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
