"""The worker self-check job: proves a Celery worker can reach every dependency it needs."""

import os
import platform
import socket
from importlib.metadata import version

from a1site.core.health import CHECKS

LIBRARIES = ("django", "celery", "xgboost", "torch", "shap", "numpy")


def worker_check(progress) -> dict:
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
