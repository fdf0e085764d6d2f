"""Correlations between events and joint outcomes drawn by a Gaussian copula.

Each event (one prop) has a standard normal latent; a bet's outcome is read from the latent's
uniform value against its marginal probabilities, so the marginals hold exactly in
expectation whatever the correlation. Over wins on a high latent, under on a low one.

The draws depend only on the events, their correlation, S, the seed and the method; prices and
probabilities enter only when the uniforms are read. ``ScenarioCache`` keeps the draws (and the
last return matrix made from them), so a run whose prices moved rebuilds only the moved bets'
columns: the same numbers as a fresh draw with the same seed, without drawing again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from .problem import Opportunity

# A pair seen together in n games keeps n / (n + SHRINK_GAMES) of its sample correlation.
# With 20, a pair with 20 shared games keeps half; a sample correlation of 30 games has a
# standard error near 0.18, so it would be mostly noise unshrunk.
SHRINK_GAMES = 20.0
MIN_SHARED_GAMES = 5


def estimate_correlation(
    histories: Sequence[Mapping[str, float]], *, shrink_games: float = SHRINK_GAMES
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations between the stat histories of events (game key → value), over the
    games both have, each shrunk toward zero by n / (n + shrink_games). Returns the PSD
    correlation matrix and the shared-game counts."""
    count = len(histories)
    correlation = np.eye(count)
    shared = np.zeros((count, count), dtype=np.int64)
    keys = [set(h) for h in histories]
    for i in range(count):
        shared[i, i] = len(keys[i])
        for j in range(i + 1, count):
            common = sorted(keys[i] & keys[j])
            n = len(common)
            shared[i, j] = shared[j, i] = n
            if n < MIN_SHARED_GAMES:
                continue
            x = np.array([histories[i][k] for k in common], dtype=float)
            y = np.array([histories[j][k] for k in common], dtype=float)
            if x.std() == 0 or y.std() == 0:
                continue
            r = float(np.corrcoef(x, y)[0, 1])
            correlation[i, j] = correlation[j, i] = r * n / (n + shrink_games)
    return nearest_correlation(correlation), shared


def nearest_correlation(matrix: np.ndarray, *, floor: float = 1e-8) -> np.ndarray:
    """A positive semi-definite correlation matrix near ``matrix``: negative eigenvalues clipped
    to ``floor``, then rescaled to a unit diagonal (one step of Higham's alternating projections;
    enough for the mild violations that pairwise estimates produce)."""
    symmetric = (matrix + matrix.T) / 2.0
    values, vectors = np.linalg.eigh(symmetric)
    if values.min() >= floor:
        return symmetric
    clipped = (vectors * np.clip(values, floor, None)) @ vectors.T
    scale = 1.0 / np.sqrt(np.diag(clipped))
    out = clipped * scale[:, None] * scale[None, :]
    np.fill_diagonal(out, 1.0)
    return (out + out.T) / 2.0


@dataclass(frozen=True)
class Scenarios:
    """Net return per unit staked of each bet (columns) in each scenario (rows): odds - 1 on a
    win, 0 on a push, -1 on a loss."""

    returns: np.ndarray
    seed: int
    method: str
    # "drawn": fresh draws; "cached": the draws came from a ScenarioCache (bit for bit the same
    # as fresh ones), with ``rebuilt_columns`` bets' columns read again from them.
    draws: str = "drawn"
    rebuilt_columns: int = 0


def event_index(opportunities: Sequence[Opportunity]) -> tuple[list[str], np.ndarray]:
    events: dict[str, int] = {}
    index = np.array([events.setdefault(o.event or o.key, len(events)) for o in opportunities], dtype=np.int64)
    return list(events), index


def draw_uniforms(correlation: np.ndarray, *, n_scenarios: int, seed: int, method: str = "pseudo") -> np.ndarray:
    """S x E correlated uniforms: Gaussian copula with ``correlation``, from seeded pseudo-random
    or scrambled Sobol normals."""
    events = correlation.shape[0]
    if method == "sobol":
        # scipy.stats is imported where Sobol draws are asked for: importing it costs ~0.4 s
        # (measured at server start-up), and the default draws are pseudo-random.
        from scipy.stats import qmc

        sampler = qmc.Sobol(d=events, scramble=True, seed=seed)
        # Sobol points come in powers of two; take the first n (balance is best at 2^m).
        uniforms = sampler.random(n_scenarios)
        normals = ndtri(np.clip(uniforms, 1e-12, 1 - 1e-12))
    elif method == "pseudo":
        normals = np.random.default_rng(seed).standard_normal((n_scenarios, events))
    else:
        raise ValueError(f"method: unknown scenario method {method!r} (pseudo or sobol)")
    values, vectors = np.linalg.eigh(correlation)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))  # correlation = root @ root.T
    return ndtr(normals @ root.T)


def scenario_returns(
    opportunities: Sequence[Opportunity],
    correlation: np.ndarray | None = None,
    *,
    n_scenarios: int,
    seed: int,
    method: str = "pseudo",
    cache: ScenarioCache | None = None,
) -> Scenarios:
    """The S x N return matrix of ``opportunities``; ``correlation`` is between their events
    (in the order of first appearance, see ``event_index``); None = independent events.
    With ``cache``, draws made before for the same events, correlation, S, seed and method
    are reused (the result is identical to a fresh draw; its ``returns`` is then read-only)."""
    events, index = event_index(opportunities)
    if correlation is None:
        correlation = np.eye(len(events))
    if correlation.shape != (len(events), len(events)):
        raise ValueError(f"correlation: expected {len(events)}x{len(events)} for the events, got {correlation.shape}")
    if cache is not None:
        return cache.scenario_returns(
            opportunities, events, index, correlation, n_scenarios=n_scenarios, seed=seed, method=method
        )
    uniforms = draw_uniforms(correlation, n_scenarios=n_scenarios, seed=seed, method=method)
    returns = _returns_from_uniforms(uniforms, index, opportunities)
    return Scenarios(returns=returns, seed=seed, method=method, rebuilt_columns=len(opportunities))


def _returns_from_uniforms(uniforms: np.ndarray, index: np.ndarray, opportunities: Sequence[Opportunity]) -> np.ndarray:
    """Each bet's net return per unit in each scenario, read from its event's uniforms."""
    uniforms = uniforms[:, index]
    p_win = np.array([o.probability for o in opportunities])
    p_push = np.array([o.p_push for o in opportunities])
    over = np.array([o.side == "over" for o in opportunities])
    # Over: win when u > 1 - p_win, push just below; under: win when u <= p_win, push just above.
    position = np.where(over[None, :], 1.0 - uniforms, uniforms)
    win = position < p_win[None, :]
    push = (~win) & (position < (p_win + p_push)[None, :])
    payout = np.array([o.decimal_odds - 1.0 for o in opportunities])
    returns = np.where(win, payout[None, :], np.where(push, 0.0, -1.0))
    return np.ascontiguousarray(returns)


def _column_from_uniforms(uniforms: np.ndarray, opportunity: Opportunity) -> np.ndarray:
    """One bet's column, by the same arithmetic as ``_returns_from_uniforms`` (so the same bits)."""
    position = 1.0 - uniforms if opportunity.side == "over" else uniforms
    win = position < opportunity.probability
    push = (~win) & (position < opportunity.probability + opportunity.p_push)
    return np.where(win, opportunity.decimal_odds - 1.0, np.where(push, 0.0, -1.0))


@dataclass
class _Drawn:
    uniforms: np.ndarray  # S x E, read-only
    columns: tuple  # per bet of the last matrix: (event index, side, probability, p_push, decimal_odds)
    returns: np.ndarray  # S x N, read-only: the last matrix built from these draws

    @property
    def nbytes(self) -> int:
        return self.uniforms.nbytes + self.returns.nbytes


# Past this share of moved bets, one vectorised rebuild is quicker than column by column.
REBUILD_ALL_SHARE = 0.25


class ScenarioCache:
    """Correlated uniforms by (events, correlation, S, seed, method), each with the return
    matrix last built from them; least recently used out first beyond ``max_bytes``.

    The key holds the correlation's bytes, so new stat lines (a new correlation) draw again;
    the bets are compared column by column, so only what changed is rebuilt: a moved price
    rewrites the winning cells of its column (win/push/loss stay where they were), a moved
    probability reads its column again from the same uniforms. Thread-safe; per process."""

    def __init__(self, *, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, _Drawn] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(entry.nbytes for entry in self._entries.values())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def scenario_returns(
        self,
        opportunities: Sequence[Opportunity],
        events: list[str],
        index: np.ndarray,
        correlation: np.ndarray,
        *,
        n_scenarios: int,
        seed: int,
        method: str,
    ) -> Scenarios:
        digest = hashlib.blake2b(np.ascontiguousarray(correlation, dtype=float).tobytes(), digest_size=16).digest()
        key = (tuple(events), digest, n_scenarios, seed, method)
        columns = tuple(
            (int(event), o.side, o.probability, o.p_push, o.decimal_odds)
            for event, o in zip(index, opportunities, strict=True)
        )
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            uniforms = draw_uniforms(correlation, n_scenarios=n_scenarios, seed=seed, method=method)
            returns = _returns_from_uniforms(uniforms, index, opportunities)
            self._store(key, _Drawn(uniforms=_frozen(uniforms), columns=columns, returns=_frozen(returns)))
            return Scenarios(returns=returns, seed=seed, method=method, rebuilt_columns=len(columns))
        if entry.columns == columns:
            return Scenarios(returns=entry.returns, seed=seed, method=method, draws="cached")
        same_bets = len(entry.columns) == len(columns) and all(
            old[:2] == new[:2] for old, new in zip(entry.columns, columns, strict=True)
        )
        moved = [j for j in range(len(columns)) if entry.columns[j] != columns[j]] if same_bets else []
        if not same_bets or len(moved) > REBUILD_ALL_SHARE * len(columns):
            returns = _returns_from_uniforms(entry.uniforms, index, opportunities)
            rebuilt = len(columns)
        else:
            returns = entry.returns.copy()
            for j in moved:
                old, opportunity = entry.columns[j], opportunities[j]
                if old[2:4] == columns[j][2:4]:
                    # Only the price moved: the winning cells (the only positive ones) take it.
                    column = returns[:, j]
                    returns[:, j] = np.where(column > 0.0, opportunity.decimal_odds - 1.0, column)
                else:
                    returns[:, j] = _column_from_uniforms(entry.uniforms[:, index[j]], opportunity)
            rebuilt = len(moved)
        self._store(key, _Drawn(uniforms=entry.uniforms, columns=columns, returns=_frozen(returns)))
        return Scenarios(returns=returns, seed=seed, method=method, draws="cached", rebuilt_columns=rebuilt)

    def _store(self, key: tuple, entry: _Drawn) -> None:
        with self._lock:
            self._entries.pop(key, None)
            if entry.nbytes > self.max_bytes:
                return
            self._entries[key] = entry
            total = sum(e.nbytes for e in self._entries.values())
            while total > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                total -= evicted.nbytes


def _frozen(array: np.ndarray) -> np.ndarray:
    """Shared between runs, so nobody may write into it."""
    array.flags.writeable = False
    return array
