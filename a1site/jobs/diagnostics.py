"""The worker self-check job: proves a Celery worker can reach every dependency it needs."""

import os
import platform
import socket
import time
from importlib.metadata import version

from a1site.core.health import CHECKS

LIBRARIES = ("django", "celery", "xgboost", "torch", "shap", "numpy")


# How long a self-check may hold its worker (``hold_s``): enough to watch a worker being lost.
MAX_HOLD_S = 300


def worker_check(progress, *, hold_s: float = 0) -> dict:
    """Check every dependency; with ``hold_s``, first keep the worker busy that long (the way
    to see, on a real deployment, what a worker lost mid-job does to its job)."""
    started = time.monotonic()
    while (left := hold_s - (time.monotonic() - started)) > 0:
        progress(0.5 * (1 - left / hold_s), f"holding the worker ({left:.0f} s left)")
        time.sleep(min(left, 0.5))
    checks = {}
    steps = list(CHECKS.items())
    for index, (name, check) in enumerate(steps):
        progress(index / (len(steps) + 1), f"checking {name}")
        checks[name] = check() or "ok"
    progress(len(steps) / (len(steps) + 1), "reading library versions")
    return {
        "worker": {"host": socket.gethostname(), "pid": os.getpid(), "python": platform.python_version()},
        "checks": checks,
        "libraries": {name: version(name) for name in LIBRARIES},
    }
