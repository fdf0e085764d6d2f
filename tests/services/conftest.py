"""Real services for tests/services: PostgreSQL, Redis, a Celery worker, ASGI servers.

This folder runs in its own pytest invocation (``make test-services``) with DATABASE_URL and
REDIS_URL set. Subprocesses get an environment that points at pytest-django's test database,
so what a test commits (``django_db(transaction=True)``) is what the worker and server see.
In CI (``CI`` set) an unreachable service fails the run; elsewhere it skips with the reason.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings
from rest_framework.authtoken.models import Token

from tests.support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"service test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def services_reachable():
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        _unavailable(f"tests/services need DATABASE_URL=postgres://… (got {engine}); run `make test-services`")
    if not settings.REDIS_URL:
        _unavailable("tests/services need REDIS_URL; run `make test-services`")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {settings.REDIS_URL} is unreachable: {exc}")


@pytest.fixture(autouse=True)
def _flush_redis():
    """Each test starts with an empty Redis database (the cache, layer and broker state)."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture
def staff_token(staff_user) -> str:
    """An API token of a staff user, for requests to the servers under test."""
    return Token.objects.create(user=staff_user).key


def database_url_for_subprocess() -> str:
    db = settings.DATABASES["default"]  # after django_db_setup: the test database
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def services_env(django_db_setup, tmp_path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "a1site.settings",
            "DATABASE_URL": database_url_for_subprocess(),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "A1_VAR_DIR": str(tmp_path / "var"),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
            "CONN_MAX_AGE": "0",
        }
    )
    return env


@dataclass
class Process:
    name: str
    process: subprocess.Popen
    log_path: Path
    port: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the crash case (no graceful shutdown)."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def kill_tree(self) -> None:
        """SIGKILL to the process and its children at once: a lost host or container."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if self.alive() else []
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)
        self.kill()

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _start(name: str, args: list[str], env: dict, log_dir: Path, port: int | None = None) -> Process:
    log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
    handle = log_path.open("w")
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    return Process(name=name, process=process, log_path=log_path, port=port)


@pytest.fixture
def asgi_server(services_env, tmp_path):
    """Factory: start a real uvicorn process serving a1site.asgi on a loopback port, through
    ``a1site.serve`` or (``command="uvicorn"``) uvicorn's own command line."""
    started: list[Process] = []

    def start(extra_env: dict | None = None, port: int | None = None, *, command: str = "a1site.serve") -> Process:
        port = port or free_port()
        env = {**services_env, **(extra_env or {})}
        target = ["uvicorn", "a1site.asgi:application"] if command == "uvicorn" else ["a1site.serve"]
        args = [sys.executable, "-m", *target, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
        server = _start("asgi", args, env, tmp_path, port)
        started.append(server)

        def ready():
            if not server.alive():
                raise AssertionError(f"ASGI server exited:\n{server.log()}")
            try:
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(ready, timeout=60, what=f"ASGI server on port {port}")
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_celery_worker(services_env, tmp_path):
    """Factory: start a real Celery worker process consuming from Redis (solo pool, or the
    pool arguments given as ``pool``)."""
    started: list[Process] = []

    def start(extra_env: dict | None = None, name: str = "celery", pool: list[str] | None = None) -> Process:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "a1site",
            "worker",
            *(pool or ["--pool", "solo"]),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"test-{name}-{os.getpid()}-{len(started)}@%h",
        ]
        worker = _start(name, args, {**services_env, **(extra_env or {})}, tmp_path)
        started.append(worker)
        wait_until(lambda: "ready" in worker.log() or not worker.alive(), timeout=90, what="celery worker ready")
        if not worker.alive():
            raise AssertionError(f"Celery worker exited:\n{worker.log()}")
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(start_celery_worker):
    """A real Celery worker process (solo pool) consuming from Redis."""
    return start_celery_worker()


class OwnRedis:
    """A redis-server of the test's own (on a free port: stopping it disturbs nobody else's
    Redis) that it starts, stops, pauses and restarts; it keeps nothing on disk."""

    def __init__(self, port: int, log_dir: Path):
        self.port = port
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=(self.log_dir / f"redis-{self.port}-{time.monotonic_ns()}.log").open("w"),
            stderr=subprocess.STDOUT,
        )

        def up():
            try:
                return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
            except redis.RedisError:
                if self.process.poll() is not None:
                    raise AssertionError(f"redis-server on {self.port} exited") from None
                return False

        wait_until(up, timeout=10, interval=0.05, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """SIGKILL: Redis gone at once, as in a crash (nothing is kept: --save '')."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel and never answered (a hung Redis)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()
