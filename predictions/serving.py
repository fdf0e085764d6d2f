"""The in-process inference service: production ensembles held in memory, scored in batches.

Each process (ASGI server, Celery worker, command) holds one ``InferenceService``
(``service()``). It loads the production ``{sport}.{stat}.ensemble`` version of a sport/stat
from the registry the first time it is asked (the registry checks the artifact's sha256, the
engine its own digest and feature schema), applies the version's latest live weights
(``EnsembleWeights``, engine.models.update_weights) with ``Ensemble.with_weights`` and keeps it.

Noticing a new version in every process: whatever changes what is served (an activation, a
new weights row, a shadow started or stopped) sets a new random "generation" token in the
shared Django cache after commit (``generation_bump``; a receiver of the registry's
``model_version_activated`` signal does it for activations). A process reads the token at
most every ``PREDICTIONS_SERVING_CHECK_MS`` and, when it changed (or every
``PREDICTIONS_SERVING_DB_TTL_S`` whatever the cache says, in case a bump was lost), checks the
versions it serves against the database in two queries and swaps in what changed. No restart.

Scoring runs a whole batch as one call per member: XGBoost's ``inplace_predict`` on the
matrix, the MLP as a numpy forward pass of its weights (equal to torch within 1e-5 and 2-4x
cheaper for one row, docs/performance.md), then one vectorised distribution call for all members. The
result equals ``Ensemble.predict_proba`` (tests check it) and keeps each member's P(over) and
P(under) for grading.

At a line a book priced, each member's price and the mixture's are pooled with the book's
de-vigged price by their line temperatures (engine.calibration); without odds the price is the
model's own. So the probabilities depend on the odds given.

Results are cached in the Django cache (Redis in services mode, local memory embedded) under
the ensemble version, its weights row, the feature row's hash, the line and the book's
de-vigged price (``book_anchor``), so a new version, new weights or a moved price can never be
answered from the cache.

The fast scalar and batch pricing it scores with (numpy and scipy, no Django) is in
engine.fast_pricing, tested equal to the engine functions it stands for.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.cache import cache

from a1site.core.memory import gc_freeze_long_lived
from a1site.registry import selectors as registry_selectors
from a1site.registry.services import model_version_load_artifact

from . import selectors
from .engine.calibration import temper
from .engine.fast_pricing import NumpyMLP, line_prices, scalar_book_logit, scalar_mixture_prices, torch_params
from .engine.features import FeatureSchema, feature_schema_current
from .engine.logs import devig_proportional
from .engine.metrics import best_side_edges
from .engine.models import Ensemble, load_model

logger = logging.getLogger(__name__)

GENERATION_KEY = "predictions:serving:generation"
CACHE_PREFIX = "predictions:p"
# Cached results live a day: lines move, features of a game never change.
CACHE_TTL_S = 24 * 3600


def generation_bump() -> None:
    """Tell every process that what is served changed (call after commit)."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def book_anchor(over_decimal_odds, under_decimal_odds) -> float | None:
    """The book's de-vigged P(over | no push) from its two prices (engine.logs.devig_proportional
    for one prop); None when either price is missing."""
    if over_decimal_odds is None or under_decimal_odds is None:
        return None
    return float(devig_proportional(over_decimal_odds, under_decimal_odds))


def edges(p_over, p_under, over_decimal_odds, under_decimal_odds):
    """(edge, side) of the better side; NaN edge (and side "") where odds are missing.

    Edge = P(side | no push) x decimal odds - 1 (engine.metrics.best_side_edges, which the
    quality bench scores against realized returns)."""
    edge, bet_over = best_side_edges(p_over, p_under, over_decimal_odds, under_decimal_odds)
    side = np.where(np.isnan(edge), "", np.where(bet_over, "over", "under"))
    return edge, side


@dataclass
class ServedModel:
    """One ensemble version as served: its live weights applied, members ready to score."""

    version_id: int
    name: str
    version: int
    sport: str
    stat: str
    schema: FeatureSchema
    ensemble: object
    weights_id: int | None
    shadow: bool = False
    member_kinds: list[str] = field(default_factory=list)
    _mlps: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.member_kinds = list(self.ensemble.member_kinds)
        for index, member in enumerate(self.ensemble.members):
            if member.kind == "torch":
                self._mlps[index] = NumpyMLP(member.numpy_layers())
        self._temperatures = np.array([member.line_temperature for member in self.ensemble.members])

    def score(self, X: np.ndarray, lines: np.ndarray, anchors=None) -> dict[str, np.ndarray]:
        """mean, p_over, p_under, p_push of the ensemble and each member's p_over/p_under
        (``{kind}_p_over``, ``{kind}_p_under``) for every row; one call per member.
        ``anchors``: each row's book de-vigged P(over | no push) (``book_anchor``; None or NaN
        where no book priced the line: the model's own price)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.shape[1] != len(self.schema.names):
            raise ValueError(f"feature matrix has {X.shape[1]} columns; {self.name} expects {len(self.schema.names)}")
        lines = np.asarray(lines, dtype=np.float64).reshape(-1)
        if len(lines) == 1:
            anchor = None if anchors is None else float(np.asarray(anchors, dtype=np.float64).reshape(-1)[0])
            return self._score_one(X, float(lines[0]), anchor)
        means, dispersions = self._member_params(X)
        mean = np.column_stack(means)
        dispersion = np.column_stack(dispersions)
        # One book price per row, for every member's column and the mixture's.
        anchors = None if anchors is None else np.asarray(anchors, dtype=np.float64).reshape(-1, 1)
        p_over, p_under, p_push = line_prices(self.ensemble.family, mean, dispersion, lines[:, None])
        p_over, p_under, _ = temper(p_over, p_under, p_push, self._temperatures, anchors)
        weights = self.ensemble.weights
        mixed = temper(
            (p_over @ weights)[:, None],
            (p_under @ weights)[:, None],
            (p_push @ weights)[:, None],
            self.ensemble.line_temperature,
            anchors,
        )
        result = {
            "mean": mean @ weights,
            "p_over": mixed[0][:, 0],
            "p_under": mixed[1][:, 0],
            "p_push": p_push @ weights,
        }
        for column, kind in enumerate(self.member_kinds):
            result[f"{kind}_p_over"] = p_over[:, column]
            result[f"{kind}_p_under"] = p_under[:, column]
        return result

    def _member_params(self, X: np.ndarray) -> tuple[list, list]:
        means, dispersions = [], []
        for index, member in enumerate(self.ensemble.members):
            if index in self._mlps:
                mean, dispersion = torch_params(member, self._mlps[index], X)
            elif member.kind == "xgboost":
                # XGBoostDistModel.predict_params without re-checking the matrix it was given.
                mean = member._predict_mean(X)
                dispersion = np.full_like(mean, member.dispersion)
            else:
                params = member.predict_params(X)
                mean, dispersion = params.mean, params.dispersion
            means.append(mean)
            dispersions.append(dispersion)
        return means, dispersions

    def _score_one(self, X: np.ndarray, line: float, anchor: float | None = None) -> dict[str, np.ndarray]:
        """``score`` for one row, in Python floats after the two model calls: the same maths
        as the array path, without numpy's per-call overhead on one-element arrays."""
        means, dispersions = self._member_params(X)
        prices = scalar_mixture_prices(
            self.ensemble.family,
            [float(mean[0]) for mean in means],
            [float(dispersion[0]) for dispersion in dispersions],
            self.ensemble.weights.tolist(),
            self._temperatures.tolist(),
            self.ensemble.line_temperature,
            line,
            scalar_book_logit(anchor),
        )
        result = {}
        for kind, (p_over, p_under) in zip(self.member_kinds, prices.members, strict=True):
            result[f"{kind}_p_over"] = np.array([p_over])
            result[f"{kind}_p_under"] = np.array([p_under])
        result.update(
            {
                "mean": np.array([prices.mean]),
                "p_over": np.array([prices.p_over]),
                "p_under": np.array([prices.p_under]),
                "p_push": np.array([prices.p_push]),
            }
        )
        return result

    def cache_key(self, feature_hash_: str, line: float, anchor: float | None = None) -> str:
        book = "-" if anchor is None or anchor != anchor else repr(float(anchor))
        return f"{CACHE_PREFIX}:{self.version_id}:{self.weights_id or 0}:{feature_hash_}:{line!r}:{book}"


@dataclass
class _Slot:
    """What one process serves for a sport/stat: production and active shadows."""

    production: ServedModel | None
    shadows: list[ServedModel]
    state: tuple
    # The production version left unserved because its feature schema is not this code's.
    outdated: str | None = None


# Loaded ensembles one process keeps (the 15 default production ones, their shadows and the
# versions recently asked about); a few MB each.
ENSEMBLES_KEPT = 32


class InferenceService:
    def __init__(self, *, check_interval_s: float | None = None, db_ttl_s: float | None = None) -> None:
        # 250 ms: a generation check (one cache read) costs ~0.1-0.3 ms, so at most ~0.1 % of a
        # busy server's time, and a swap reaches every process within a quarter second.
        self.check_interval_s = (
            settings.PREDICTIONS_SERVING_CHECK_MS / 1000.0 if check_interval_s is None else check_interval_s
        )
        self.db_ttl_s = settings.PREDICTIONS_SERVING_DB_TTL_S if db_ttl_s is None else db_ttl_s
        self._slots: dict[tuple[str, str], _Slot] = {}
        # Loaded ensembles by version id, least recently used first; bounded so that a process
        # asked about many old versions (detail pages, explanations) does not keep them all.
        # The served models stay referenced by their slots whatever is evicted here.
        self._ensembles: OrderedDict[int, object] = OrderedDict()
        self._lock = threading.RLock()
        self._generation = None
        self._checked_at = float("-inf")
        self._validated_at = time.monotonic()
        self.loads = 0

    # --- what is served ---------------------------------------------------------------------

    def models_for(self, sport: str, stat: str) -> tuple[ServedModel | None, list[ServedModel]]:
        """(production model or None, active shadow models) for a sport/stat."""
        self._check()
        slot = self._slots.get((sport, stat))
        if slot is None:
            with self._lock:
                slot = self._slots.get((sport, stat))
                if slot is None:
                    states = self._states([(sport, stat)])
                    slot = self._build_slot(sport, stat, states[(sport, stat)])
                    self._slots[(sport, stat)] = slot
        return slot.production, slot.shadows

    def production(self, sport: str, stat: str) -> ServedModel | None:
        return self.models_for(sport, stat)[0]

    def warm(self) -> int:
        """Load every production ensemble now (a server's start-up); returns how many."""
        names = registry_selectors.production_versions().filter(kind="ensemble").values_list("sport", "stat")
        loaded = 0
        for sport, stat in names:
            loaded += self.production(sport, stat) is not None
        return loaded

    def loaded_versions(self) -> dict[str, int]:
        return {slot.production.name: slot.production.version_id for slot in self._slots.values() if slot.production}

    # --- noticing changes ------------------------------------------------------------------

    def _check(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.check_interval_s:
            return
        self._checked_at = now
        generation = cache.get(GENERATION_KEY)
        if generation == self._generation and now - self._validated_at < self.db_ttl_s:
            return
        with self._lock:
            self._generation = generation
            self._validated_at = now
            if self._slots:
                self._revalidate()

    def _revalidate(self) -> None:
        keys = list(self._slots)
        states = self._states(keys)
        for key in keys:
            if states[key] != self._slots[key].state:
                logger.info("serving swaps models", extra={"sport": key[0], "stat": key[1], "state": states[key]})
                self._slots[key] = self._build_slot(key[0], key[1], states[key])

    def _states(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
        """Per sport/stat: ((production id, weights id), ((shadow id, weights id), ...)), in
        three queries whatever the number of sport/stats."""
        names = {f"{sport}.{stat}.ensemble": (sport, stat) for sport, stat in keys}
        production_ids = registry_selectors.production_version_ids(names=names)
        weights_of = selectors.latest_weights_ids(version_ids=production_ids.values())
        production = {name: (version_id, weights_of.get(version_id)) for name, version_id in production_ids.items()}
        shadow_rows = selectors.active_shadow_states(names=names)
        shadows: dict[str, list] = {}
        for name, version_id, weights_id in shadow_rows:
            shadows.setdefault(name, []).append((version_id, weights_id))
        return {key: (production.get(name), tuple(shadows.get(name, ()))) for name, key in names.items()}

    # --- loading ---------------------------------------------------------------------------

    def _build_slot(self, sport: str, stat: str, state: tuple) -> _Slot:
        production_state, shadow_states = state
        production = self._served(*production_state, shadow=False) if production_state else None
        shadows = [self._served(version_id, weights_id, shadow=True) for version_id, weights_id in shadow_states]

        # A version trained on other features (older code) cannot be served: its columns would
        # not line up with the rows this code computes. It stays registered until retrained.
        def current(model: ServedModel) -> bool:
            if feature_schema_current(sport, stat, model.schema.version):
                return True
            logger.warning(
                "model version not served: feature schema outdated",
                extra={"model": model.name, "version": model.version, "schema": model.schema.version},
            )
            return False

        outdated = None
        if production is not None and not current(production):
            outdated, production = f"{production.name} v{production.version}", None
        shadows = [s for s in shadows if s is not None and current(s)]
        return _Slot(production=production, shadows=shadows, state=state, outdated=outdated)

    def unavailable_reason(self, sport: str, stat: str) -> str:
        """Why ``production(sport, stat)`` is None, for an error message."""
        self.models_for(sport, stat)
        slot = self._slots.get((sport, stat))
        if slot is not None and slot.outdated:
            return (
                f"The production model {slot.outdated} was trained on features this version no longer "
                f"computes; retrain it: manage.py train_models --sport {sport} --stat {stat}."
            )
        return f"No production model for {sport} {stat}; train one first."

    def _served(self, version_id: int, weights_id: int | None, *, shadow: bool) -> ServedModel | None:
        version = registry_selectors.model_version_get(version_id=version_id)
        if version is None:
            raise ValueError(f"model version {version_id} does not exist")
        schema = FeatureSchema.from_dict(version.feature_schema)
        base = self._loaded(version_id)
        if base is None:
            artifact = model_version_load_artifact(version=version)
            # Scored on the CPU (numpy MLP below), so the networks need no GPU memory here.
            base = load_model(artifact, expected_schema=schema, device="cpu")
            if not isinstance(base, Ensemble):
                raise ValueError(f"{version} is not an ensemble")
            self._keep(version_id, base)
            self.loads += 1
        ensemble = base
        if weights_id is not None:
            stored = selectors.ensemble_weights_get(weights_id=weights_id)
            weights = np.array([float(stored.get(kind, 0.0)) for kind in base.member_kinds])
            if weights.sum() > 0:
                ensemble = base.with_weights(weights / weights.sum())
        return ServedModel(
            version_id=version.pk,
            name=version.name,
            version=version.version,
            sport=version.sport,
            stat=version.stat,
            schema=schema,
            ensemble=ensemble,
            weights_id=weights_id,
            shadow=shadow,
        )

    def ensemble_for_version(self, version_id: int):
        """The (stored-weights) ensemble of any version, loaded once; None if not loadable."""
        loaded = self._loaded(version_id)
        if loaded is None:
            version = registry_selectors.model_version_get(version_id=version_id, kind="ensemble")
            if version is None:
                return None
            schema = FeatureSchema.from_dict(version.feature_schema)
            loaded = load_model(model_version_load_artifact(version=version), expected_schema=schema, device="cpu")
            self._keep(version_id, loaded)
        return loaded

    def _loaded(self, version_id: int):
        with self._lock:
            loaded = self._ensembles.get(version_id)
            if loaded is not None:
                self._ensembles.move_to_end(version_id)
            return loaded

    def _keep(self, version_id: int, ensemble) -> None:
        with self._lock:
            self._ensembles[version_id] = ensemble
            self._ensembles.move_to_end(version_id)
            while len(self._ensembles) > ENSEMBLES_KEPT:
                self._ensembles.popitem(last=False)
        # A loaded version lives as long as the process: no full collection should walk it.
        gc_freeze_long_lived()

    # --- scoring with the cache -------------------------------------------------------------

    def remember(self, results: dict[str, dict]) -> None:
        """Cache results under their keys (``ServedModel.cache_key``)."""
        if len(results) == 1:
            cache.set(*next(iter(results.items())), timeout=CACHE_TTL_S)
        else:
            cache.set_many(results, timeout=CACHE_TTL_S)

    def predict(
        self,
        model: ServedModel,
        X: np.ndarray,
        lines,
        hashes: list[str],
        *,
        anchors: list[float | None] | None = None,
        use_cache: bool = True,
        write_cache: bool = True,
    ) -> tuple[list[dict], list[bool]]:
        """One result dict per row (mean, p_over, p_under, p_push, members) and whether it
        came from the cache; ``anchors``: each row's ``book_anchor`` (None: no book price).
        Rows missing from the cache are scored in one call, and cached unless ``write_cache``
        is off (the caller caches them itself, e.g. with the stored prediction's id)."""
        lines = [float(line) for line in lines]
        n = len(lines)
        results: list[dict | None] = [None] * n
        cached = [False] * n
        anchors = [None] * n if anchors is None else list(anchors)
        keys = (
            [model.cache_key(h, line, a) for h, line, a in zip(hashes, lines, anchors, strict=True)]
            if use_cache
            else []
        )
        if use_cache:
            found = cache.get_many(keys) if n > 1 else {k: v for k in keys if (v := cache.get(k)) is not None}
            for index, key in enumerate(keys):
                if key in found:
                    results[index] = found[key]
                    cached[index] = True
        todo = [index for index in range(n) if results[index] is None]
        if todo:
            rows = X if len(todo) == n else X[todo]
            scores = model.score(
                rows,
                np.array([lines[index] for index in todo]),
                np.array([anchors[index] for index in todo], dtype=np.float64),  # None -> NaN: no book
            )
            fresh = {}
            kinds = model.member_kinds
            members = zip(
                *(
                    zip(scores[f"{kind}_p_over"].tolist(), scores[f"{kind}_p_under"].tolist(), strict=True)
                    for kind in kinds
                ),
                strict=True,
            )
            columns = zip(
                todo,
                scores["mean"].tolist(),
                scores["p_over"].tolist(),
                scores["p_under"].tolist(),
                scores["p_push"].tolist(),
                members,
                strict=True,
            )
            for index, mean, p_over, p_under, p_push, member_prices in columns:
                result = {
                    "mean": mean,
                    "p_over": p_over,
                    "p_under": p_under,
                    "p_push": p_push,
                    "members": {kind: list(prices) for kind, prices in zip(kinds, member_prices, strict=True)},
                }
                results[index] = result
                if use_cache and write_cache:
                    fresh[keys[index]] = result
            if fresh:
                if len(fresh) == 1:
                    cache.set(*next(iter(fresh.items())), timeout=CACHE_TTL_S)
                else:
                    cache.set_many(fresh, timeout=CACHE_TTL_S)
        return results, cached


_service: InferenceService | None = None
_service_lock = threading.Lock()


def service() -> InferenceService:
    """This process's inference service."""
    global _service
    if _service is None:
        with _service_lock:
            if _service is None:
                _service = InferenceService()
    return _service


def reset_service() -> None:
    """Forget every loaded model (tests; a process that must start over)."""
    global _service
    with _service_lock:
        _service = None


def on_model_version_activated(sender, name: str = "", version_id: int | None = None, **kwargs) -> None:
    generation_bump()
