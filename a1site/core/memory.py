"""Memory helpers for the few bursts of allocation in a request or job."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a burst of allocations.

    A 10,000-prop prediction batch or a slate allocates a few hundred thousand objects that
    live until the answer is written. That triggers full collections, and each one walks
    every object the process holds (loaded models, Django, the serving caches: ~400,000),
    about 0.1 s apiece: measured 1.5 s → 0.9 s for one batch request when paused. Reference
    counting still frees everything acyclic at once; cycles made inside the block wait for
    the first collection after it. Process-wide, so keep blocks to a request or a job step.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
