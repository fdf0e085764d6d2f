"""Explanations of stored predictions: levels, the cache, batches and what-if.

Every explanation is computed by the prediction's own model version with the live weights it
was served with (the prediction's weights row) at its stored feature row, line and odds, so
its outputs equal the stored prediction's. The cache key holds everything the answer depends
on: the version, the weights row, the background sample, the feature row's hash, the line,
the book's de-vigged price and the level; a new version (or new weights, or a new background)
can therefore never be answered with an older explanation.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction

from a1site.core.errors import ApplicationError
from a1site.registry import selectors as registry_selectors
from predictions import selectors as prediction_selectors
from predictions import services as prediction_services
from predictions import serving

from ..engine.explainer import LEVELS, EnsembleExplainer, check_level
from ..engine.whatif import ChangeError, coerce_changes
from ..metrics import CACHE_HITS, SECONDS, SERVED
from ..models import BackgroundSample
from ..selectors import insight_summary

logger = logging.getLogger(__name__)

__all__ = [
    "LEVELS",
    "BATCH_LIMIT",
    "background_sample_ensure",
    "background_sample_store",
    "explainer_for_version",
    "explanation_get",
    "explanations_batch",
    "explanations_cache",
    "explainers_clear",
    "what_if",
]

BATCH_LIMIT = 1_000
# Background rows sampled from a version's training period: DeepExplainer uses the first 100,
# percentiles and typical values all of them.
BACKGROUND_ROWS = 500
BACKGROUND_SEED = 0
# Rows on which a new background's stability (engine.quality) is measured.
STABILITY_ROWS = 40
MIN_BACKGROUND_ROWS = 20
# Explainers (a loaded version with its DeepExplainer) kept per process.
EXPLAINERS_KEPT = 32
CACHE_PREFIX = "expl"


def explanations_cache():
    return caches["explanations"]


@dataclass
class _Loaded:
    explainer: EnsembleExplainer
    version: object  # the registry's ModelVersion row
    background_id: int


_explainers: OrderedDict[tuple, _Loaded] = OrderedDict()
# version id → its background sample's id, for cache keys without loading anything.
_background_ids: dict[int, int] = {}
_lock = threading.RLock()


def explainers_clear() -> None:
    """Forget every explainer this process built (tests; a process starting over)."""
    with _lock:
        _explainers.clear()
        _background_ids.clear()


def _training_rows(version) -> tuple[np.ndarray, bool]:
    """(rows, in_period): the version's training dataset rebuilt from the database by the
    predictions app (the same rows training saw), those of its training period when at least
    MIN_BACKGROUND_ROWS fall inside it, else all of them."""
    dataset = prediction_services.dataset_build(sport=version.sport, stat=version.stat)
    if dataset.schema.version != str(version.feature_schema.get("version", "")):
        raise ApplicationError(
            f"{version.name} v{version.version} was trained on features this code no longer computes",
            code="schema",
            status_code=409,
        )
    X = np.asarray(dataset.X, np.float64)
    try:
        dates = np.asarray(dataset.dates, dtype="datetime64[D]")
        inside = np.ones(len(X), bool)
        if version.training_data_start:
            inside &= dates >= np.datetime64(version.training_data_start)
        if version.training_data_end:
            inside &= dates <= np.datetime64(version.training_data_end)
    except (TypeError, ValueError):
        inside = np.ones(len(X), bool)
    if inside.sum() >= MIN_BACKGROUND_ROWS:
        return X[inside], True
    return X, False


def background_sample_store(
    *, version, rows: np.ndarray, source: str = BackgroundSample.Source.TRAINING, ensemble=None
) -> BackgroundSample:
    """Store a version's background sample (at most BACKGROUND_ROWS of ``rows``, sampled
    with BACKGROUND_SEED) with its measured stability; a version keeps its first sample."""
    rows = np.asarray(rows, np.float64)
    names = version.feature_schema.get("names", [])
    if rows.ndim != 2 or rows.shape[1] != len(names):
        raise ApplicationError("background rows do not match the version's schema", code="schema", status_code=409)
    if len(rows) < MIN_BACKGROUND_ROWS:
        raise ApplicationError(
            f"{version.name} v{version.version} has {len(rows)} training rows; an explanation needs at least "
            f"{MIN_BACKGROUND_ROWS}",
            code="no_background",
            status_code=409,
        )
    if len(rows) > BACKGROUND_ROWS:
        chosen = np.random.default_rng(BACKGROUND_SEED).choice(len(rows), size=BACKGROUND_ROWS, replace=False)
        rows = rows[np.sort(chosen)]
    ensemble = ensemble if ensemble is not None else serving.service().ensemble_for_version(version.pk)
    measure = rows[np.random.default_rng(1).choice(len(rows), size=min(STABILITY_ROWS, len(rows)), replace=False)]
    stability = float(np.mean(EnsembleExplainer(ensemble, rows).resampled_stability(measure)))
    try:
        with transaction.atomic():
            return BackgroundSample.objects.create(
                model_version=version,
                rows=np.ascontiguousarray(rows).tobytes(),
                n_rows=rows.shape[0],
                n_features=rows.shape[1],
                source=source,
                data_first_date=version.training_data_start,
                data_last_date=version.training_data_end,
                seed=BACKGROUND_SEED,
                stability=stability,
                stability_rows=len(measure),
            )
    except IntegrityError:  # another process stored one first
        return BackgroundSample.objects.get(model_version=version)


def background_sample_ensure(*, version, ensemble=None) -> BackgroundSample:
    """The version's background sample; a version without one (trained before explanations
    existed) gets one now from its training rows, recorded as ``first_use``."""
    existing = BackgroundSample.objects.filter(model_version=version).first()
    if existing is not None:
        return existing
    rows, in_period = _training_rows(version)
    if not in_period:
        logger.warning(
            "background drawn from all stored rows: too few in the training period",
            extra={"model_version": version.pk},
        )
    return background_sample_store(
        version=version, rows=rows, source=BackgroundSample.Source.FIRST_USE, ensemble=ensemble
    )


def background_rows(sample: BackgroundSample) -> np.ndarray:
    return np.frombuffer(bytes(sample.rows), dtype=np.float64).reshape(sample.n_rows, sample.n_features)


def _weights_of(prediction, ensemble) -> tuple[float, ...]:
    weights = np.asarray(ensemble.weights, np.float64)
    if prediction is not None and prediction.weights is not None:
        chosen = np.array([float(prediction.weights.weights.get(kind, 0.0)) for kind in ensemble.member_kinds])
        if chosen.sum() > 0:
            weights = chosen / chosen.sum()
    return tuple(float(w) for w in weights)


def explainer_for_version(*, version_id: int, prediction=None) -> _Loaded:
    """The explainer of a version with the weights ``prediction`` was served with (the
    version's stored weights without one), built once per process."""
    base = serving.service().ensemble_for_version(version_id)
    if base is None:
        raise ApplicationError("the prediction's model version cannot be loaded", code="model_gone", status_code=409)
    weights = _weights_of(prediction, base)
    with _lock:
        for key, loaded in _explainers.items():
            if key[0] == version_id and key[1] == weights:
                _explainers.move_to_end(key)
                return loaded
    version = registry_selectors.model_version_get(version_id=version_id)
    sample = background_sample_ensure(version=version, ensemble=base)
    ensemble = base if np.allclose(weights, base.weights) else base.with_weights(np.array(weights))
    loaded = _Loaded(
        EnsembleExplainer(ensemble, background_rows(sample), stability=sample.stability), version, sample.pk
    )
    with _lock:
        _background_ids[version_id] = sample.pk
        _explainers[(version_id, weights, sample.pk)] = loaded
        while len(_explainers) > EXPLAINERS_KEPT:
            _explainers.popitem(last=False)
    return loaded


@dataclass
class _Target:
    prediction: object
    row: np.ndarray
    feature_hash: str
    anchor: float | None


def _predictions(ids, *, user) -> dict:
    return prediction_selectors.explainable_predictions(ids=ids, include_shadow=bool(getattr(user, "is_staff", False)))


def _targets(predictions: dict) -> dict[int, _Target]:
    """Feature rows of the predictions (stored rows in one query per sport/stat)."""
    groups: dict[tuple[str, str], list] = {}
    for prediction in predictions.values():
        groups.setdefault((prediction.game.sport.code, prediction.stat), []).append(prediction)
    targets = {}
    for (sport, stat), members in groups.items():
        rows = prediction_services.prop_features_get(
            sport=sport, stat=stat, targets=[(p.game_id, p.player_id) for p in members]
        )
        for prediction in members:
            found = rows.get((prediction.game_id, prediction.player_id))
            if found is None:
                continue
            schema = prediction.model_version.feature_schema or {}
            if len(found[0]) != len(schema.get("names", [])):
                continue
            anchor = serving.book_anchor(prediction.over_decimal_odds, prediction.under_decimal_odds)
            targets[prediction.pk] = _Target(prediction, found[0], found[1], anchor)
    return targets


def _key(version_id, weights_id, background_id, feature_hash: str, line, anchor, level: str) -> str:
    book = "-" if anchor is None else repr(float(anchor))
    return (
        f"{CACHE_PREFIX}:{version_id}:{weights_id or 0}:{background_id}:{feature_hash}:{float(line)!r}:{book}:{level}"
    )


def _cache_key(prediction, loaded: _Loaded, feature_hash: str, anchor, level: str) -> str:
    return _key(
        prediction.model_version_id,
        prediction.weights_id,
        loaded.background_id,
        feature_hash,
        prediction.line,
        anchor,
        level,
    )


def _cached(ids, *, user, level: str) -> tuple[dict[int, dict], set[int]]:
    """The explanations already in the cache, found from one narrow query and one cache
    read, for versions this process has an explainer of; and the ids that are visible."""
    fields = prediction_selectors.explanation_key_fields(ids=ids, include_shadow=bool(getattr(user, "is_staff", False)))
    keys = {}
    for pk, (version_id, weights_id, feature_hash, line, over, under) in fields.items():
        background_id = _background_ids.get(version_id)
        if background_id is not None:
            anchor = serving.book_anchor(over, under)
            keys[pk] = _key(version_id, weights_id, background_id, feature_hash, line, anchor, level)
    if not keys:
        return {}, set(fields)
    cache = explanations_cache()
    found = cache.get_many(list(keys.values())) if len(keys) > 1 else _get_one(cache, next(iter(keys.values())))
    results = {}
    for pk, key in keys.items():
        if key in found:
            results[pk] = {**found[key], "cached": True}
            CACHE_HITS.labels(level).inc()
            SERVED.labels(level, "cache").inc()
    return results, set(fields)


def _envelope(prediction, loaded: _Loaded, payload: dict) -> dict:
    version = loaded.version
    return {
        "prediction": {
            "id": prediction.pk,
            "player": prediction.player.name,
            "stat": prediction.stat,
            "line": prediction.line,
            "mean": prediction.mean,
            "p_over": prediction.p_over,
            "over_decimal_odds": prediction.over_decimal_odds,
            "under_decimal_odds": prediction.under_decimal_odds,
            "simulated": prediction.simulated,
        },
        "model_version": {"id": version.pk, "name": version.name, "version": version.version},
        **payload,
    }


def _explain_targets(targets: list[_Target], *, level: str, stabilities=None) -> dict[int, dict]:
    """Fresh explanations of targets that share one version and weights; one engine call."""
    first = targets[0].prediction
    loaded = explainer_for_version(version_id=first.model_version_id, prediction=first)
    X = np.vstack([target.row for target in targets])
    lines = np.array([target.prediction.line for target in targets], np.float64)
    anchors = np.array([np.nan if t.anchor is None else t.anchor for t in targets], np.float64)
    started = time.perf_counter()
    batch = loaded.explainer.explain(X, lines, anchors)
    if stabilities is None and level in ("detailed", "comprehensive"):
        stabilities = loaded.explainer.resampled_stability(X)
    out = {}
    for index, target in enumerate(targets):
        payload = loaded.explainer.payload(
            batch,
            index,
            level=level,
            sport=target.prediction.game.sport.code,
            stat=target.prediction.stat,
            stability=None if stabilities is None else stabilities[index],
        )
        if level == "comprehensive":
            payload["global"] = insight_summary(version_id=target.prediction.model_version_id)
        out[target.prediction.pk] = _envelope(target.prediction, loaded, payload)
    SECONDS.labels(level).observe(time.perf_counter() - started)
    return out


def _explain_many(predictions: dict, *, level: str, use_cache: bool = True) -> tuple[dict[int, dict], dict[int, str]]:
    """id → explanation (with ``cached``) and id → why not, for stored predictions. The
    cache is asked first with what the prediction row itself holds (its version, weights,
    feature hash, line and odds); feature rows are read only for what it misses."""
    check_level(level)
    cache = explanations_cache()
    results: dict[int, dict] = {}
    keys = {}
    for pk, prediction in predictions.items():
        loaded = explainer_for_version(version_id=prediction.model_version_id, prediction=prediction)
        anchor = serving.book_anchor(prediction.over_decimal_odds, prediction.under_decimal_odds)
        keys[pk] = _cache_key(prediction, loaded, prediction.feature_hash, anchor, level)
    if use_cache and keys:
        found = cache.get_many(list(keys.values())) if len(keys) > 1 else _get_one(cache, next(iter(keys.values())))
        for pk, key in keys.items():
            if key in found:
                results[pk] = {**found[key], "cached": True}
                CACHE_HITS.labels(level).inc()
                SERVED.labels(level, "cache").inc()
    todo = {pk: prediction for pk, prediction in predictions.items() if pk not in results}
    if not todo:
        return results, {}
    targets = _targets(todo)
    missing = {pk: "its feature row is not stored and cannot be built" for pk in todo if pk not in targets}
    groups: dict[tuple, list[_Target]] = {}
    for target in targets.values():
        prediction = target.prediction
        groups.setdefault((prediction.model_version_id, prediction.weights_id), []).append(target)
    fresh_cache = {}
    for group in groups.values():
        for pk, payload in _explain_targets(group, level=level).items():
            # The row's own hash (a row rebuilt since the prediction would differ): the key
            # says exactly which features were explained.
            target = targets[pk]
            loaded = explainer_for_version(version_id=target.prediction.model_version_id, prediction=target.prediction)
            fresh_cache[_cache_key(target.prediction, loaded, target.feature_hash, target.anchor, level)] = payload
            results[pk] = {**payload, "cached": False}
            SERVED.labels(level, "fresh").inc()
    if fresh_cache:
        cache.set_many(fresh_cache, timeout=settings.EXPLANATIONS_CACHE_TTL_S)
    return results, missing


def _get_one(cache, key: str) -> dict:
    value = cache.get(key)
    return {} if value is None else {key: value}


def explanation_get(*, prediction_id: int, user, level: str = "standard", use_cache: bool = True) -> dict:
    """One stored prediction's explanation at ``level``. Unknown (or not visible) → 404;
    a prediction whose feature row cannot be had → 409."""
    check_level(level)
    if use_cache:
        cached, visible = _cached([prediction_id], user=user, level=level)
        if prediction_id in cached:
            return cached[prediction_id]
        if prediction_id not in visible:
            raise ApplicationError("No such prediction.", code="not_found", status_code=404)
    predictions = _predictions([prediction_id], user=user)
    if prediction_id not in predictions:
        raise ApplicationError("No such prediction.", code="not_found", status_code=404)
    results, missing = _explain_many(predictions, level=level, use_cache=use_cache)
    if prediction_id in missing:
        raise ApplicationError(
            f"Cannot explain this prediction: {missing[prediction_id]}.", code="no_features", status_code=409
        )
    return results[prediction_id]


def explanations_batch(*, prediction_ids: list[int], user, level: str = "fast") -> dict:
    """Up to BATCH_LIMIT predictions: {"explanations": [...in request order], "errors": [...]}
    where each error names the row and the prediction."""
    check_level(level)
    if len(prediction_ids) > BATCH_LIMIT:
        raise ApplicationError(
            f"at most {BATCH_LIMIT} predictions per batch; got {len(prediction_ids)}", code="too_many", status_code=413
        )
    unique = list(dict.fromkeys(prediction_ids))
    results, visible = _cached(unique, user=user, level=level)
    predictions = _predictions([pk for pk in unique if pk in visible and pk not in results], user=user)
    fresh, missing = _explain_many(predictions, level=level)
    results.update(fresh)
    explanations, errors = [], []
    for row, pk in enumerate(prediction_ids):
        if pk in results:
            explanations.append(results[pk])
        elif pk not in visible:
            errors.append({"row": row, "prediction": pk, "code": "not_found", "message": "No such prediction."})
        else:
            errors.append({"row": row, "prediction": pk, "code": "no_features", "message": missing[pk]})
    return {"level": level, "explanations": explanations, "errors": errors}


def _prices(explainer: EnsembleExplainer, X, prediction, anchor) -> dict:
    predicted = explainer.predict(X, np.array([prediction.line]), None if anchor is None else np.array([anchor]))
    prices = {name: float(values[0]) for name, values in predicted.items()}
    edge, side = serving.edges(
        np.array([prices["p_over"]]),
        np.array([prices["p_under"]]),
        np.array([prediction.over_decimal_odds if prediction.over_decimal_odds else np.nan]),
        np.array([prediction.under_decimal_odds if prediction.under_decimal_odds else np.nan]),
    )
    prices["edge"] = None if math.isnan(float(edge[0])) else float(edge[0])
    prices["side"] = str(side[0])
    return prices


def what_if(*, prediction_id: int, user, changes: dict, level: str = "standard") -> dict:
    """The prediction with some feature values changed: the new distribution's mean, P(over),
    P(under), P(push) and edge, their change from the stored features' answer, warnings for
    values outside the training rows' range, and the new explanation."""
    check_level(level)
    predictions = _predictions([prediction_id], user=user)
    if prediction_id not in predictions:
        raise ApplicationError("No such prediction.", code="not_found", status_code=404)
    targets = _targets(predictions)
    if prediction_id not in targets:
        raise ApplicationError(
            "Cannot explain this prediction: its feature row is gone.", code="no_features", status_code=409
        )
    target = targets[prediction_id]
    prediction = target.prediction
    loaded = explainer_for_version(version_id=prediction.model_version_id, prediction=prediction)
    explainer = loaded.explainer
    try:
        row, warnings = coerce_changes(
            explainer.names,
            target.row,
            changes,
            low=np.nanmin(explainer.background, axis=0),
            high=np.nanmax(explainer.background, axis=0),
        )
    except ChangeError as error:
        raise ApplicationError(str(error), code="invalid", fields={error.field: [str(error)]}) from error
    before = _prices(explainer, target.row[None, :], prediction, target.anchor)
    after = _prices(explainer, row[None, :], prediction, target.anchor)
    batch = explainer.explain(
        row[None, :], np.array([prediction.line]), None if target.anchor is None else np.array([target.anchor])
    )
    payload = explainer.payload(batch, 0, level=level, sport=prediction.game.sport.code, stat=prediction.stat)
    change = {
        name: (None if before[name] is None or after[name] is None else after[name] - before[name])
        for name in ("mean", "p_over", "p_under", "p_push", "edge")
    }
    SERVED.labels(level, "what_if").inc()
    return {
        "prediction": prediction.pk,
        "changes": {name: float(row[explainer.names.index(name)]) for name in changes},
        "before": before,
        "after": after,
        "change": change,
        "warnings": warnings,
        "explanation": _envelope(prediction, loaded, payload),
    }


def background_sample_from_training(*, version_id: int, rows: np.ndarray) -> BackgroundSample | None:
    """Store a newly trained ensemble version's background sample from its fit-period rows
    (source ``training``); None when the version is not an ensemble or already has one."""
    version = registry_selectors.model_version_get(version_id=version_id, kind="ensemble")
    if version is None or BackgroundSample.objects.filter(model_version=version).exists():
        return None
    return background_sample_store(version=version, rows=rows, source=BackgroundSample.Source.TRAINING)
