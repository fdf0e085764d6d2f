"""Small helpers the test folders share (not fixtures)."""

import socket
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def negbin_rows(seed: int, n: int, *, intercept: float, dispersion: float, nan_every: int):
    """Synthetic count data for the model tests: three normal features (the third, noise, is
    NaN every ``nan_every`` rows) and a negative binomial outcome with mean
    exp(intercept + 0.5 x0 + 0.2 x1) and the given dispersion."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    mean = np.exp(intercept + 0.5 * X[:, 0] + 0.2 * X[:, 1])
    r = 1 / dispersion
    y = rng.negative_binomial(r, r / (r + mean)).astype(float)
    X[::nan_every, 2] = np.nan
    return X, y
