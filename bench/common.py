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
