"""What every bench script shares: the machine line and percentiles (format: docs/benchmarks.md)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """The "machine" field of a results file: CPU model and core count."""
    return f"{cpu_model()}, {os.cpu_count()} cores"


RESULTS_DIR = Path(__file__).resolve().parent / "results"


def results_path(name: str, *, full: bool) -> Path:
    """Where a bench writes its JSON: ``bench/results/NAME.json`` for a full run (committed),
    ``bench/results/quick/NAME.json`` (ignored by git) for a ``--quick`` or otherwise reduced
    run, so a smoke run never replaces the measured results."""
    path = RESULTS_DIR / f"{name}.json" if full else RESULTS_DIR / "quick" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def percentile(values, q: float) -> float:
    """The q-quantile (0..1) of ``values`` by the nearest-rank rule; NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def embedded_scratch_env(scratch: Path, **overrides: str) -> dict:
    """Point this process (and the servers it starts) at a scratch embedded site: SQLite and
    media under ``scratch``, DEBUG off as served (with it on WhiteNoise rescans the static files
    per request), one thread, no DATABASE_URL/REDIS_URL. Returns the environment for children."""
    env = {
        "A1_VAR_DIR": str(scratch),
        "MEDIA_ROOT": str(scratch / "media"),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret",
        "OMP_NUM_THREADS": "1",
        "DJANGO_SETTINGS_MODULE": "a1site.settings",
        **overrides,
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(env)
    return {**os.environ, **env}


def services_env(*, database: str, redis_url: str, namespace: str, var_dir: Path, **overrides: str) -> dict:
    """The environment of a services-mode site for a bench: its own PostgreSQL database (see
    ``fresh_database``), a Redis URL (its own DB number) and live namespace, DEBUG off, one
    thread, no demo odds feed; ``overrides`` last."""
    return {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "a1site.settings",
        "SECRET_KEY": "bench-only-secret",
        "DEBUG": "false",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": redis_url,
        "LIVE_NAMESPACE": namespace,
        "A1_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OMP_NUM_THREADS": "1",
        "LOG_LEVEL": "WARNING",
        "A1_DEMO_ODDS_FEED": "false",
        **overrides,
    }


def fresh_database(name: str) -> None:
    """An empty PostgreSQL database ``name`` (dropped first if it exists)."""
    import subprocess

    for command in (["dropdb", "--if-exists", "--force"], ["createdb"]):
        subprocess.run([*command, "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, check=True)


def serve_until_healthy(command: list[str], *, env: dict, log_path: Path, port: int, timeout_s: float = 120):
    """Start a server process (``command``, run from the repository root with its output in
    ``log_path``) and wait until ``GET /healthz`` on ``port`` answers 200; the process, or
    RuntimeError with the end of its log if it exits or does not come up in time."""
    import http.client
    import subprocess
    import time

    root = Path(__file__).resolve().parents[1]
    log = log_path.open("w")
    process = subprocess.Popen(
        command, cwd=root, env={**env, "PYTHONPATH": str(root)}, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start:\n{log_path.read_text()[-3000:]}")
