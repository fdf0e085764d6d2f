"""Many users at once (issue 17): the site's mix of requests from thousands of users, against
a plain Django view in the same run and set-up as the baseline.

    .venv/bin/python bench/http_load.py [--quick] [--phases props_page,embedded,services,capacity,soak]
        [--workers 2] [--threads 2] [--users 10000] [--soak-requests 200000] [--keep-alive-s 30]
    .venv/bin/python bench/http_load.py --report bench/results/http_load.json

``--report FILE`` runs nothing: it prints the table of a saved run again, its metrics worked
out afresh from the run's own measurements (``notes``), and writes them back to the file.

**The mix** (each request picks one, weights in %; every user has its own account, token,
session and two jobs, one queued and one finished):

- 30 page views with the user's session cookie: 10 ``GET /`` (dashboard), 15
  ``GET /predictions/?sport=nba&page=N`` (N 1–20), 5 ``GET /portfolios/``;
- 35 ``GET /api/props/?sport=nba&page=N`` with the token (a page of 50, N 1–20);
- 15 ``POST /api/predictions/``: one NBA prop of a trained stat, its line moved by a random
  multiple of 0.5 (−2 … +2), so most are new (scored and stored) and some repeat (cached);
- 5 ``POST /api/predictions/batch/``: 20 such props;
- 15 ``GET /api/jobs/<id>/`` (a job poll of one of the user's own jobs).

**The plain view** (baseline): ``GET /accounts/login/``, a Django template view with no query,
through the same server, middleware and connections.

**Phases** (``--phases``, all by default, in this order):

- ``props_page`` (embedded server, and again on the services server when it runs): one client,
  sequential, ``GET /api/props/?sport=nba&page=N`` (N random 1–20) 300 times:
  ``props_page_p50_ms`` (target ≤ 10), baseline the plain view's p50 the same way.
- ``embedded``: ``make run``'s server (``python -m a1site.serve``, one process, SQLite,
  local-memory cache). The issue's "200 users" is read at the 10,000-user run's per-user rate:
  200 open connections, each one request of the mix every 20 s (10 req/s offered), for 60 s
  (``embedded_200_users_p99_ms``, target ≤ 250, 0 errors). Extra context: the same 200
  connections back to back (closed loop) for 20 s; and this bench's first loads, kept for
  their history: 50 connections back to back for 20 s on the props list, then on the plain
  view, with the probes beside them (``props_rps_vs_plain``, ``healthz_p99_ms_under_plain_load``).
- ``services``: PostgreSQL (database ``httpbench``, created and dropped here), Redis
  (``redis://127.0.0.1:6379/9``, flushed), ``python -m a1site.serve --workers 2`` with
  ``A1_HTTP_THREADS=2`` each, on the same 2 cores as this generator. 10,000 users (10,000
  accounts), all connections opened first, each one request of the mix every 20 s at a
  random phase (500 req/s offered) for 60 s: ``users_10k_p99_ms`` (target ≤ 250, 0 errors).
  A request unanswered after 30 s is an error (the user gives up and reconnects), and so is a
  503: the server refuses a request that waited over ``A1_QUEUE_TIMEOUT_S`` (10 s) for a
  thread (``users_10k_shed_503`` counts them; ``errors_by_cause`` tells them from timeouts).
  Its baseline, right after (once the server has worked off the mix, below): the plain view
  for the same 10,000 users over the same kind of connections at the same rate
  (``plain_view_10k_p99_ms``, ``plain_view_10k_rps``). Both report the CPU milliseconds per
  answered request of the server's processes, PostgreSQL's and Redis's together
  (``users_10k_cpu_ms_per_answer`` against ``plain_view_10k_cpu_ms_per_answer``; under
  overload it includes the work spent on refused requests): 500 req/s on 2 cores leave 4 ms
  a request for all of them and the generator. After the mix the bench
  waits until ``GET /readyz`` answers in under 50 ms twice (``drain_s``), and restarts the
  server if that takes over 5 minutes (``restarted_after``),
  so the next phases do not measure the leftovers.
- ``capacity``: on the services server, the offered rate stepped up (25, 50, 75, 100, 150,
  200, 300, 400, 500, 600, 800, 1000, 1200, 1600 req/s over 500 connections, 10 s a step)
  until a step misses p99 ≤ 250 ms with 0 errors (a missed step runs once more and passes if
  that run does: a neighbour's burst on the shared cores is not the server's limit); for the
  plain view, then the mix, waiting after each step until the server's queue is worked off.
  ``capacity_vs_plain``: the mix's highest passing rate over the plain view's (target ≥ 0.5).
- ``soak``: the mix back to back on 64 connections for ``--soak-requests`` requests (200,000);
  the server processes' resident memory (the uvicorn supervisor and its workers, from /proc)
  is read every 2 s: ``soak_rss_growth_pct`` over the second half (target ≤ 5).

``healthz_p99_ms_under_load`` (target ≤ 50): a ``GET /healthz`` every 50 ms on its own
connection during the 10,000-user run (and ``..._embedded`` during the 200-user one), with
``GET /readyz`` (a Django view, queued like every view) probed the same way as its baseline.
``server_rss_mb`` (target ≤ 600, the issue's figure for ``make run``'s server): the embedded
server's resident memory after start and warm-up rounds (every request kind on 16 new
connections), and after its phases; ``server_rss_mb_services`` the same for the services
server's processes (the kernel spreads the connections over the workers; rounds until the sum
grows by under 2 %), and after the soak. Models: ``train_models --sport nba``
(``--quick``: NBA points, small), the props priced by ``slate_predict``, as a site has them;
only NBA models are asked for, so only they are loaded.

**The generator**: one process, asyncio on uvloop, raw HTTP/1.1 keep-alive connections
(``bench/http_loadgen.py``). Latency runs from a request's scheduled time. Its own lateness is
reported; more than 1 % of requests sent over 50 ms late marks a run invalid (``valid``), and
a metric measured in an invalid run is not ``met``. ``generator_cpu_share`` is the share of
one core it used.

**Keep-alive.** uvicorn closes a connection idle for 5 s by default, so a user sending every
20 s would find its connection closed each time. To hold the users' connections open, as the
issue states them, ``--keep-alive-s`` (default 30) starts the server with
``a1site.serve --timeout-keep-alive`` set to it; ``--keep-alive-s 0`` serves with the default
(the generator then reopens a closed connection before a request, inside its latency:
``reconnects``).

``--quick``: the small demo, 1,000 users for 20 s, 200 embedded users for 20 s, 3 s capacity
steps, a 5,000-request soak, 100 sequential requests; results under bench/results/quick/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import http_loadgen as gen  # noqa: E402
from bench.common import (  # noqa: E402
    embedded_scratch_env,
    fresh_database,
    machine,
    results_path,
    serve_until_healthy,
    services_env,
)
from bench.http_load_report import P99_TARGET_MS, metrics_from, print_table  # noqa: E402
from bench.http_load_setup import Mix, prepare_child  # noqa: E402

DB_NAME = os.environ.get("HTTPBENCH_DB", "httpbench")
REDIS_URL = os.environ.get("HTTPBENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
EMBEDDED_PORT, SERVICES_PORT = 18310, 18311
PERIOD_S = 20.0
RATES = [25, 50, 75, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1200, 1600]
CAPACITY_CONNECTIONS = 500
SOAK_CONNECTIONS = 64
PHASES = ("props_page", "embedded", "services", "capacity", "soak")
THROTTLES = {"THROTTLE_USER": "100000000/min", "THROTTLE_ANON": "100000000/min"}

# --- set-up and the plain view ------------------------------------------------------------------


def prepare(env: dict, scratch: Path, users: int, quick: bool) -> dict:
    out = scratch / "prepared.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--prepare-into", str(out), "--users", str(users)]
    subprocess.run(command + (["--quick"] if quick else []), cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, check=True)
    return json.loads(out.read_text())


PLAIN = gen.request_bytes("GET", "/accounts/login/")


def plain(user, rng) -> tuple[str, bytes]:
    return "plain", PLAIN


def props_only(user, rng) -> tuple[str, bytes]:
    return "props", gen.request_bytes("GET", f"/api/props/?sport=nba&page={rng.randint(1, 20)}", user["auth"])


# --- servers ------------------------------------------------------------------------------------


def start_server(env: dict, scratch: Path, port: int, *, workers: int, keep_alive_s: float):
    args = ["--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    if keep_alive_s:
        args += ["--timeout-keep-alive", str(keep_alive_s)]  # idle connections held open
    command = [sys.executable, "-m", "a1site.serve", *args]
    process = serve_until_healthy(command, env=env, log_path=scratch / f"server-{port}.log", port=port)
    deadline = time.monotonic() + 60
    while workers > 1 and len(gen.tree_pids(process.pid)) <= workers and time.monotonic() < deadline:
        time.sleep(0.5)  # every worker spawned (the supervisor answers nothing itself)
    return process


def stop_server(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def warm_up(port: int, pid: int, data: dict, mix: Mix, requests: int) -> dict:
    """Rounds of every kind on 16 new connections (the kernel spreads them over the workers)
    until every worker holds at least 80 % of the largest one's memory and the sum grew by
    under 2 % in the round (at least 2 rounds, at most 8), so each worker has loaded its models
    and templates; the last round's result."""
    rss, rounds = gen.tree_rss_mb(pid)[0], []
    for k in range(8):
        result = gen.run(gen.closed_loop(port, data["users"], mix.pick, connections=16, total=requests, seed=99 + k))
        gen.run(gen.closed_loop(port, data["users"], plain, connections=4, total=20))
        before, rss = rss, gen.tree_rss_mb(pid)[0]
        workers = gen.worker_rss_mb(pid)
        rounds.append(workers)
        if k and rss < 1.02 * before and min(workers) >= 0.8 * max(workers):
            break
    result["rss_by_round_mb"] = rounds
    return result


def sequential(port: int, data: dict, n: int) -> dict:
    """props_page: one client, one request after another, the props list then the plain view."""
    props = gen.run(gen.closed_loop(port, data["users"][:1], props_only, connections=1, total=n, seed=1))
    base = gen.run(gen.closed_loop(port, data["users"][:1], plain, connections=1, total=n))
    return {"props": props, "plain": base}


# --- phases -------------------------------------------------------------------------------------


def embedded_phases(args, phases: set, scratch: Path) -> dict:
    env = embedded_scratch_env(scratch, **THROTTLES)
    data = prepare(env, scratch, users=200, quick=args.quick)
    mix = Mix(data)
    server = start_server(env, scratch, EMBEDDED_PORT, workers=1, keep_alive_s=args.keep_alive_s)
    out: dict = {}
    try:
        out["warm_up"] = summary_line(
            "embedded warm-up", warm_up(EMBEDDED_PORT, server.pid, data, mix, 100 if args.quick else 200)
        )
        out["rss_start_mb"] = gen.tree_rss_mb(server.pid)[0]
        if "props_page" in phases:
            out["props_page"] = sequential(EMBEDDED_PORT, data, args.sequential)
            summary_line("props_page (embedded)", out["props_page"]["props"])
            summary_line("plain, sequential", out["props_page"]["plain"])
        if "embedded" in phases:
            load = gen.open_loop(EMBEDDED_PORT, data["users"], mix.pick, period_s=PERIOD_S, seconds=args.embedded_s)
            out["open"], out["probes"] = gen.run(gen.with_probes(EMBEDDED_PORT, load))
            summary_line("embedded, 200 users", out["open"], out["probes"])
            out["open"]["drain_s"] = round(drain(EMBEDDED_PORT, timeout_s=300)[0], 1)
            closed = gen.closed_loop(EMBEDDED_PORT, data["users"], mix.pick, connections=200, seconds=args.closed_s)
            out["closed"] = summary_line("embedded, 200 back to back", gen.run(closed))
            # The first version's loads (kept for its history): 50 connections back to back,
            # the props list against the plain view, each with the probes beside it.
            for name, pick in (("plain", plain), ("props", props_only)):
                closed = gen.closed_loop(EMBEDDED_PORT, data["users"], pick, connections=50, seconds=args.closed_s)
                out[f"{name}_50"], out[f"{name}_50_probes"] = gen.run(gen.with_probes(EMBEDDED_PORT, closed))
                summary_line(f"embedded, 50 back to back, {name}", out[f"{name}_50"], out[f"{name}_50_probes"])
        out["rss_end_mb"] = gen.tree_rss_mb(server.pid)[0]
    finally:
        stop_server(server)
    return out


def services_site_env(scratch: Path, args) -> dict:
    return services_env(
        database=DB_NAME,
        redis_url=REDIS_URL,
        namespace="httpbench",
        var_dir=scratch / "var",
        A1_HTTP_THREADS=str(args.threads),
        **THROTTLES,
    )


def psql(*command: str) -> None:
    subprocess.run([*command, "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True, capture_output=True)


def services_phases(args, phases: set, scratch: Path) -> dict:
    import redis

    env = services_site_env(scratch, args)
    fresh_database(DB_NAME)
    redis.Redis.from_url(REDIS_URL).flushdb()
    out: dict = {}
    try:
        data = prepare(env, scratch, users=args.users, quick=args.quick)
        mix = Mix(data)
        server = start_server(env, scratch, SERVICES_PORT, workers=args.workers, keep_alive_s=args.keep_alive_s)
        try:
            out["warm_up"] = summary_line(
                "services warm-up", warm_up(SERVICES_PORT, server.pid, data, mix, 100 if args.quick else 200)
            )
            out["rss_start_mb"], out["processes"] = gen.tree_rss_mb(server.pid)
            out["rss_start_by_process_mb"] = gen.tree_rss_detail(server.pid)
            print(f"server: {out['processes']} processes, {out['rss_start_mb']} MB after warm-up", flush=True)
            if "props_page" in phases:
                out["props_page"] = sequential(SERVICES_PORT, data, args.sequential)
                summary_line("props_page (services)", out["props_page"]["props"])
            if "services" in phases:
                load = gen.open_loop(SERVICES_PORT, data["users"], mix.pick, period_s=PERIOD_S, seconds=args.services_s)
                out["open"], out["probes"] = with_cpu(server.pid, gen.with_probes(SERVICES_PORT, load))
                summary_line(f"services, {len(data['users']):,} users", out["open"], out["probes"])
                waited, drained = drain(SERVICES_PORT, timeout_s=300)
                out["open"]["drain_s"], out["open"]["restarted_after"] = round(waited, 1), not drained
                if not drained:
                    # Requests whose users gave up still queue in the workers: start afresh,
                    # so the next phases measure a server, not this load's leftovers.
                    print("  the server is still working off the load: restarting it", flush=True)
                    stop_server(server)
                    server = start_server(
                        env, scratch, SERVICES_PORT, workers=args.workers, keep_alive_s=args.keep_alive_s
                    )
                    warm_up(SERVICES_PORT, server.pid, data, mix, 100 if args.quick else 200)
                # The baseline: the plain view for the same users over the same kind of
                # connections at the same rate (what this machine serves 10,000 users at all).
                load = gen.open_loop(SERVICES_PORT, data["users"], plain, period_s=PERIOD_S, seconds=args.services_s)
                out["open_plain"], _ = with_cpu(server.pid, gen.with_probes(SERVICES_PORT, load))
                summary_line(f"services, {len(data['users']):,} users, plain view", out["open_plain"])
                drain(SERVICES_PORT)
            if "capacity" in phases:
                users = data["users"][:CAPACITY_CONNECTIONS]
                out["capacity"] = {
                    name: capacity(SERVICES_PORT, users, pick, args.step_s)
                    for name, pick in (("plain", plain), ("mix", mix.pick))
                }
            if "soak" in phases:
                out["soak"] = soak(server.pid, data, mix, args.soak_requests)
            out["rss_end_mb"] = gen.tree_rss_mb(server.pid)[0]
        finally:
            stop_server(server)
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()
        psql("dropdb", "--if-exists")
    return out


def with_cpu(server_pid: int, load) -> tuple[dict, dict]:
    """Run ``load`` (a ``with_probes`` coroutine); its result gains ``cpu_ms_per_answer``: CPU
    milliseconds per answered request of the server's processes, PostgreSQL's and Redis's.
    Read every second, since Django replaces a database connection older than
    ``CONN_MAX_AGE`` (60 s) during the run, and a backend that ended would take its CPU along."""
    groups = {
        "server": lambda: gen.tree_pids(server_pid),
        "postgres": lambda: gen.named_pids("postgres"),
        "redis": lambda: gen.named_pids("redis-server"),
    }
    before = {name: gen.cpu_seconds(pids()) for name, pids in groups.items()}
    seen = {name: dict(readings) for name, readings in before.items()}
    done = threading.Event()

    def read() -> None:
        for name, pids in groups.items():
            seen[name].update(gen.cpu_seconds(pids()))

    def every_second() -> None:
        while not done.wait(1.0):
            read()

    reader = threading.Thread(target=every_second, daemon=True)
    reader.start()
    try:
        result, probes = gen.run(load)
    finally:
        done.set()
        reader.join()
    read()
    answered = max(1, result["requests"] - result["errors"])
    cpu = {name: gen.cpu_used(before[name], seen[name]) * 1000 / answered for name in groups}
    cpu["all"] = sum(cpu.values())
    result["cpu_ms_per_answer"] = {name: round(ms, 2) for name, ms in cpu.items()}
    return result, probes


def capacity(port: int, users: list, pick, step_s: float) -> dict:
    """The offered rate stepped up until a step misses p99 ≤ 250 ms with no errors. A missed
    step runs once more (a neighbour's burst on the shared cores is not the server's limit);
    the rate passes if the second run does. The plain view and the mix are stepped alike."""
    name = "plain" if pick is plain else "mix"
    steps, best = [], 0
    for rate in RATES:
        for attempt in (1, 2):
            step = gen.run(gen.open_loop(port, users, pick, period_s=len(users) / rate, seconds=step_s, seed=rate))
            ok = step["p99_ms"] <= P99_TARGET_MS and step["errors"] == 0 and step["valid"]
            keys = ("offered_rps", "rps", "p50_ms", "p99_ms", "errors", "late_p99_ms", "valid")
            steps.append({k: step[k] for k in keys} | {"attempt": attempt, "ok": ok})
            print(f"capacity {name} {rate:>5} req/s: {json.dumps(steps[-1])}", flush=True)
            drain(port)
            if ok:
                break
        if not ok:
            break
        best = rate
    return {"best_rps": best, "steps": steps}


def drain(port: int, timeout_s: float = 120) -> tuple[float, bool]:
    """Wait until the server has worked off what a load left queued (requests whose clients
    gave up still run): ``GET /readyz``, a Django view queued like the others, answers in under
    50 ms twice running. (seconds waited, whether it did within ``timeout_s``)."""
    import http.client

    began = time.monotonic()
    quick = 0
    while quick < 2 and (left := timeout_s - (time.monotonic() - began)) > 0:
        started = time.monotonic()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=max(1.0, left))
            connection.request("GET", "/readyz")
            connection.getresponse().read()
            connection.close()
        except OSError:
            time.sleep(0.5)
            continue
        quick = quick + 1 if time.monotonic() - started < 0.05 else 0
        time.sleep(0.2)
    waited = time.monotonic() - began
    if waited > 5:
        print(f"  (the server worked off its queue for {waited:.0f} s)", flush=True)
    return waited, quick >= 2


def soak(pid: int, data: dict, mix: Mix, total: int) -> dict:
    began = time.monotonic()

    def sample(done: int) -> tuple:
        return done, gen.tree_rss_mb(pid)[0], round(time.monotonic() - began, 1)

    result = gen.run(
        gen.closed_loop(
            SERVICES_PORT, data["users"], mix.pick, connections=SOAK_CONNECTIONS, total=total, sample=sample
        )
    )
    samples = result["samples"]
    half = next(s for s in samples if s[0] >= total / 2)
    end = samples[-1]
    result["rss_half_mb"], result["rss_end_mb"] = half[1], end[1]
    result["growth_pct"] = round(100 * (end[1] - half[1]) / half[1], 2)
    summary_line("soak", result)
    print(f"soak: RSS {half[1]} MB at {half[0]:,} requests -> {end[1]} MB at {end[0]:,}", flush=True)
    return result


def summary_line(name: str, result: dict, probes: dict | None = None) -> dict:
    keys = (
        "rss_by_round_mb",
        "requests",
        "rps",
        "p50_ms",
        "p99_ms",
        "errors",
        "late_p99_ms",
        "valid",
        "reconnects",
        "generator_cpu_share",
        "cpu_ms_per_answer",
    )
    shown = {k: result[k] for k in keys if k in result}
    if probes:
        shown |= {f"{path.strip('/')}_p99_ms": probe["p99_ms"] for path, probe in probes.items()}
    print(f"{name}: {json.dumps(shown)}", flush=True)
    if result.get("errors"):
        print(f"  errors: {result.get('errors_by_cause')}, e.g. {result['error_examples']}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small demo, 1,000 users, short phases")
    parser.add_argument("--report", type=Path, help="print a saved run's table again (metrics from its notes)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of: {', '.join(PHASES)}")
    parser.add_argument("--workers", type=int, default=2, help="services server processes")
    parser.add_argument("--threads", type=int, default=2, help="A1_HTTP_THREADS per services process")
    parser.add_argument("--users", type=int, default=None, help="services users (10,000; --quick: 1,000)")
    parser.add_argument("--soak-requests", type=int, default=None, help="200,000 (--quick: 5,000)")
    parser.add_argument("--keep-alive-s", type=float, default=30.0, help="uvicorn's idle keep-alive (0: as served)")
    parser.add_argument("--prepare-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_into:
        prepare_child(args.prepare_into, args.users, args.quick)
        return
    if args.report:
        saved = json.loads(args.report.read_text())
        notes = saved["notes"]
        saved["metrics"] = metrics_from(notes["embedded"], notes["services"], saved["config"]["users"])
        print_table(saved["metrics"])
        args.report.write_text(json.dumps(saved, indent=1, default=str) + "\n")
        return
    phases = set(args.phases.split(","))
    if unknown := phases - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    full_run = not args.quick
    args.users = args.users or (1_000 if args.quick else 10_000)
    args.soak_requests = args.soak_requests or (5_000 if args.quick else 200_000)
    args.embedded_s, args.closed_s = (20.0, 5.0) if args.quick else (60.0, 20.0)
    args.services_s, args.step_s = (20.0, 3.0) if args.quick else (60.0, 10.0)
    args.sequential = 100 if args.quick else 300
    started = time.monotonic()
    gc.freeze()
    emb: dict = {}
    svc: dict = {}
    with tempfile.TemporaryDirectory(prefix="a1-http-load-") as folder:
        if phases & {"props_page", "embedded"}:
            (Path(folder) / "embedded").mkdir()
            emb = embedded_phases(args, phases, Path(folder) / "embedded")
        if phases & {"services", "capacity", "soak"}:
            (Path(folder) / "services").mkdir()
            svc = services_phases(args, phases, Path(folder) / "services")
    rows = metrics_from(emb, svc, args.users)
    print_table(rows)
    result = {
        "bench": "http_load",
        "machine": machine(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": {
            "quick": args.quick,
            "phases": sorted(phases),
            "services": f"a1site.serve --workers {args.workers}, A1_HTTP_THREADS={args.threads}, PostgreSQL, Redis",
            "embedded": "a1site.serve, 1 process, SQLite",
            "keep_alive_s": args.keep_alive_s or "uvicorn default (5)",
            "users": args.users,
            "period_s": PERIOD_S,
            "mix_weights_pct": Mix.WEIGHTS,
            "soak_requests": args.soak_requests,
            "generator": "one process, asyncio + uvloop, raw HTTP/1.1",
        },
        "metrics": rows,
        "notes": {"embedded": emb, "services": svc, "wall_s": round(time.monotonic() - started, 1)},
    }
    defaults = (args.workers, args.threads, args.keep_alive_s) == (2, 2, 30.0)
    full = full_run and defaults and phases == set(PHASES) and (args.users, args.soak_requests) == (10_000, 200_000)
    path = results_path("http_load", full=full)
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"\nwrote {path.relative_to(ROOT)} in {result['notes']['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
