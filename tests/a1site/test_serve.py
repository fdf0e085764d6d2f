"""``python -m a1site.serve``: its options reach uvicorn, and its workers share the load."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from a1site import serve


def _run_with(monkeypatch, argv):
    seen = {}
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    monkeypatch.setattr(
        serve, "serve_reuse_port", lambda config: seen.update(vars(config), app=config.app, reuse_port=True)
    )
    serve.main(argv)
    return seen


def test_idle_connections_are_kept_as_long_as_asked(monkeypatch):
    """Users who send a request every 20 s keep their connection open only past uvicorn's 5 s."""
    assert _run_with(monkeypatch, [])["timeout_keep_alive"] == 5.0
    options = _run_with(monkeypatch, ["--timeout-keep-alive", "30", "--workers", "2"])
    assert (options["timeout_keep_alive"], options["workers"], options["app"]) == (30.0, 2, serve.APP)


def test_several_workers_listen_on_sockets_of_their_own_unless_asked_not_to(monkeypatch):
    assert _run_with(monkeypatch, ["--workers", "2"])["reuse_port"] is True
    assert "reuse_port" not in _run_with(monkeypatch, ["--workers", "2", "--no-reuse-port"])
    assert "reuse_port" not in _run_with(monkeypatch, [])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _established_on(port: int) -> set[str]:
    """Socket inodes of established connections whose local port is ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    return inodes


def _held(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_each_worker_takes_connections_and_a_second_server_on_the_port_refuses_to_start(tmp_path):
    """Both workers accept from their own sockets, and a second server does not quietly share
    the port through SO_REUSEPORT. (Idle workers share a burst evenly either way: the
    imbalance, one loaded worker accepting most of bench/http_load.py's 500 new connections,
    shows under load, in the bench.)"""
    port = _free_port()
    env = {**os.environ, "A1_VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "a1site.serve", "--port", str(port), "--workers", "2", "--no-access-log"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while len(_children(server.pid)) < 2 or not _healthy(port):
            assert server.poll() is None and time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.3)
        time.sleep(1)  # both workers listening
        connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
        try:
            for connection in connections:
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for connection in connections:
                assert connection.recv(4096).startswith(b"HTTP/1.1 200")
            inodes = _established_on(port)
            held = [_held(pid, inodes) for pid in _children(server.pid)]
            held = [n for n in held if n]
            assert sum(held) == 64 and len(held) == 2 and min(held) >= 12, held
        finally:
            for connection in connections:
                connection.close()
        # A second server on the same port refuses to start instead of sharing it.
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 3 and "in use" in second.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False
