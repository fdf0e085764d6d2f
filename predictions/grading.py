"""Grading use cases: settled props → live metrics, ensemble weights, drift warnings; shadows.

When results arrive (a results import, or the live app's ``game_final``), ``props_grade``
grades every ungraded prediction of a book prop (``Prediction.prop_line`` set: one per prop
and version, so nothing is counted twice) whose result is known, in game-date order:

- each prediction gets its outcome, log loss, Brier, hit and CLV (engine.grading.grade; CLV
  when a later quote of the same book's line is stored: the closing line);
- each model version's live metrics accumulate (``ModelLiveMetrics``, member blank), and so
  do each ensemble member's, graded from the member probabilities stored with the same
  predictions (member ``xgboost``/``torch``); a snapshot per run keeps the history;
- ensemble weights follow the members' recent live performance. The rule is
  engine.models.update_weights: target = softmax(-WEIGHTS_SHARPNESS x each member's
  exponentially weighted live log loss (half-life EWM_HALFLIFE graded props)), the served
  weights move WEIGHTS_STEP of the way there and no member drops below 2 %, so one that
  recovers can win weight back. Nothing moves before every member has WEIGHTS_MIN_GRADED
  graded props. Every change is a new ``EnsembleWeights`` row; serving picks it up through
  the generation token (predictions.serving);
- drift: when a version's EWM live log loss exceeds its held-out log loss (the registry's
  ``metrics.log_loss``, measured on the test period's book props) by DRIFT_MARGIN after
  DRIFT_MIN_GRADED graded props, a ``DriftWarning`` opens (admin, Models page, audit log,
  and a live ``predictions.models`` message); it clears when live log loss comes back.

Champion/challenger: ``shadow_start`` lets a candidate ensemble score the same book props as
production (``slate_predict``) without being shown; it is graded the same way, and
``challenger_comparison`` compares it with production on the props both scored.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from a1site.registry import selectors as registry_selectors
from live import publish

from .engine import grading as engine_grading
from .engine.models import update_weights
from .models import (
    DriftWarning,
    EnsembleWeights,
    LiveMetricsSnapshot,
    ModelLiveMetrics,
    Prediction,
    PropLine,
    Result,
    ShadowModel,
)
from .serving import generation_bump

logger = logging.getLogger(__name__)

EWM_HALFLIFE = getattr(settings, "PREDICTIONS_EWM_HALFLIFE", 200.0)
DRIFT_MARGIN = getattr(settings, "PREDICTIONS_DRIFT_MARGIN", 0.05)
DRIFT_MIN_GRADED = getattr(settings, "PREDICTIONS_DRIFT_MIN_GRADED", 100)
WEIGHTS_MIN_GRADED = getattr(settings, "PREDICTIONS_WEIGHTS_MIN_GRADED", 50)
WEIGHTS_SHARPNESS = 50.0
WEIGHTS_STEP = 0.5
# Smaller moves than this are not worth a new weights row (and a cache generation).
WEIGHTS_TOLERANCE = 1e-3


def _live_publish(topic: str, type: str, data) -> None:
    """Push to WebSocket clients through live.publish."""
    try:
        publish(topic, type, data)
    except Exception:  # a stream notification must never undo a grading run
        logger.exception("live publish failed", extra={"topic": topic})


def _closing_quotes(game_ids: set[int]) -> dict[tuple, tuple]:
    """(game, player, stat, book) → (seen_at, line, over, under) of the latest stored quote."""
    closing: dict[tuple, tuple] = {}
    rows = PropLine.objects.filter(game_id__in=game_ids).values_list(
        "game_id", "player_id", "stat", "book", "seen_at", "line", "over_decimal_odds", "under_decimal_odds"
    )
    for game, player, stat, book, seen_at, line, over, under in rows:
        key = (game, player, stat, book)
        if key not in closing or seen_at > closing[key][0]:
            closing[key] = (seen_at, line, over, under)
    return closing


class _GradeRow(NamedTuple):
    """A prediction to grade with its prop's quote and the known result (``_gradable_rows``)."""

    pk: int
    version_id: int
    game: int
    player: int
    stat: str
    line: float
    p_over: float
    p_under: float
    over_odds: float
    under_odds: float
    members: dict | None
    book: str
    seen_at: object
    value: float | None
    status: str


def _gradable_rows(locked: list[int]) -> list[_GradeRow]:
    """The locked predictions whose result is known, with it, in game-date order."""
    result = Result.objects.filter(game=OuterRef("game"), player=OuterRef("player"), stat=OuterRef("stat"))
    rows = (
        Prediction.objects.filter(pk__in=locked)
        .annotate(
            result_value=Subquery(result.values("value")[:1]),
            result_status=Subquery(result.values("status")[:1]),
        )
        .filter(result_status__isnull=False)
        .order_by("game__date", "game_id", "prop_line_id", "model_version_id")
        .values_list(
            "pk",
            "model_version_id",
            "game_id",
            "player_id",
            "stat",
            "line",
            "p_over",
            "p_under",
            "over_decimal_odds",
            "under_decimal_odds",
            "member_probabilities",
            "prop_line__book",
            "prop_line__seen_at",
            "result_value",
            "result_status",
        )
    )
    return [_GradeRow._make(row) for row in rows]


def _grade(row: _GradeRow, *, p_over: float, p_under: float, clv_args: dict) -> engine_grading.GradedProp:
    return engine_grading.grade(
        p_over=p_over,
        p_under=p_under,
        value=row.value,
        line=row.line,
        taken_over_odds=row.over_odds,
        taken_under_odds=row.under_odds,
        **clv_args,
    )


def _grade_rows(
    rows: list[_GradeRow], *, closing: dict[tuple, tuple], now
) -> tuple[list[Prediction], dict[tuple[int, str], list]]:
    """Each row's graded prediction (unsaved, for ``bulk_update``), and the grades by (version,
    member) series: the ensemble's under member "" and each member's from its stored
    probabilities. A void result grades the prediction void and counts in no series."""
    graded_by_series: dict[tuple[int, str], list] = {}
    updates = []
    for row in rows:
        prediction = Prediction(pk=row.pk, graded_at=now)
        if row.status == Result.Status.VOID:
            prediction.outcome = Prediction.Outcome.VOID
            updates.append(prediction)
            continue
        close = closing.get((row.game, row.player, row.stat, row.book))
        later = close if close is not None and close[0] > row.seen_at else None
        clv_args = (
            {"closing_line": later[1], "closing_over_odds": later[2], "closing_under_odds": later[3]} if later else {}
        )
        graded = _grade(row, p_over=row.p_over, p_under=row.p_under, clv_args=clv_args)
        prediction.outcome = graded.outcome
        prediction.log_loss, prediction.brier, prediction.hit, prediction.clv = (
            graded.log_loss,
            graded.brier,
            graded.hit,
            graded.clv,
        )
        updates.append(prediction)
        graded_by_series.setdefault((row.version_id, ""), []).append(graded)
        for kind, (member_over, member_under) in (row.members or {}).items():
            graded_by_series.setdefault((row.version_id, kind), []).append(
                _grade(row, p_over=member_over, p_under=member_under, clv_args=clv_args)
            )
    return updates, graded_by_series


def props_grade(*, game_ids: list[int] | None = None) -> dict:
    """Grade every ungraded book-prop prediction whose result is known (all games, or these);
    update live metrics, snapshots, ensemble weights and drift warnings. Idempotent."""
    with transaction.atomic():
        pending = Prediction.objects.filter(graded_at__isnull=True, prop_line__isnull=False)
        if game_ids is not None:
            pending = pending.filter(game_id__in=game_ids)
        locked = list(pending.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True))
        if not locked:
            return {"graded": 0, "versions": 0}
        rows = _gradable_rows(locked)
        if not rows:
            return {"graded": 0, "versions": 0}
        closing = _closing_quotes({row.game for row in rows})
        updates, graded_by_series = _grade_rows(rows, closing=closing, now=timezone.now())
        Prediction.objects.bulk_update(
            updates, ["outcome", "log_loss", "brier", "hit", "clv", "graded_at"], batch_size=500
        )
        metrics = _metrics_update(graded_by_series)
        weights_changed = _weights_update(metrics)
        drift = _drift_check(metrics)
        if weights_changed:
            transaction.on_commit(generation_bump)
    summary = {
        "graded": len(updates),
        "versions": len({version for version, _ in graded_by_series}),
        "weights_changed": weights_changed,
        "drift": drift,
    }
    logger.info("props graded", extra={"summary": summary})
    return summary


def _metrics_update(graded_by_series: dict[tuple[int, str], list]) -> dict[tuple[int, str], ModelLiveMetrics]:
    existing = {
        (row.model_version_id, row.member): row
        for row in ModelLiveMetrics.objects.select_for_update().filter(
            model_version_id__in={version for version, _ in graded_by_series}
        )
    }
    snapshots = []
    for key, graded in graded_by_series.items():
        row = existing.get(key) or ModelLiveMetrics(model_version_id=key[0], member=key[1])
        live = engine_grading.accumulate(engine_grading.LiveMetrics.from_dict(row.state), graded, halflife=EWM_HALFLIFE)
        row.state = live.as_dict()
        row.n_graded = live.n_graded
        row.log_loss, row.brier, row.hit_rate, row.clv, row.ewm_log_loss = (
            live.log_loss,
            live.brier,
            live.hit_rate,
            live.clv,
            live.ewm_log_loss,
        )
        row.save()
        existing[key] = row
        snapshots.append(
            LiveMetricsSnapshot(
                model_version_id=key[0],
                member=key[1],
                n_graded=row.n_graded,
                log_loss=row.log_loss,
                brier=row.brier,
                hit_rate=row.hit_rate,
                ewm_log_loss=row.ewm_log_loss,
            )
        )
    LiveMetricsSnapshot.objects.bulk_create(snapshots)
    return existing


def _latest_weights(version_id: int) -> EnsembleWeights | None:
    return EnsembleWeights.objects.filter(model_version_id=version_id).order_by("-created_at", "-id").first()


def _weights_update(metrics: dict[tuple[int, str], ModelLiveMetrics]) -> bool:
    changed = False
    version_ids = {version for version, member in metrics if member}
    versions = registry_selectors.model_versions_by_id(version_ids=version_ids)
    for version_id in sorted(version_ids):
        version = versions[version_id]
        kinds = sorted(member for vid, member in metrics if vid == version_id and member)
        rows = [metrics[(version_id, kind)] for kind in kinds]
        if any(row.n_graded < WEIGHTS_MIN_GRADED or row.ewm_log_loss is None for row in rows):
            continue
        latest = _latest_weights(version_id)
        start = latest.weights if latest else (version.metrics or {}).get("ensemble_weights") or {}
        previous = np.array([float(start.get(kind, 1.0 / len(kinds))) for kind in kinds])
        losses = np.array([row.ewm_log_loss for row in rows])
        new = update_weights(previous / previous.sum(), losses, sharpness=WEIGHTS_SHARPNESS, step=WEIGHTS_STEP)
        if latest is not None and np.max(np.abs(new - previous / previous.sum())) < WEIGHTS_TOLERANCE:
            continue
        EnsembleWeights.objects.create(
            model_version_id=version_id,
            weights={kind: round(float(weight), 6) for kind, weight in zip(kinds, new, strict=True)},
            member_log_loss={kind: float(loss) for kind, loss in zip(kinds, losses, strict=True)},
            n_graded=min(row.n_graded for row in rows),
            reason="live",
        )
        changed = True
    return changed


def _drift_check(metrics: dict[tuple[int, str], ModelLiveMetrics]) -> list[int]:
    version_ids = {version for version, member in metrics if not member}
    versions = registry_selectors.model_versions_by_id(version_ids=version_ids)
    open_warnings = {w.model_version_id: w for w in DriftWarning.objects.filter(cleared_at__isnull=True)}
    drifting = []
    for version_id in sorted(version_ids):
        version = versions[version_id]
        row = metrics[(version_id, "")]
        validation = (version.metrics or {}).get("log_loss")
        live = engine_grading.LiveMetrics.from_dict(row.state)
        detected = engine_grading.drift_detected(
            live, validation_log_loss=validation, margin=DRIFT_MARGIN, min_graded=DRIFT_MIN_GRADED
        )
        warning = open_warnings.get(version_id)
        if detected and warning is None:
            warning = DriftWarning.objects.create(
                model_version_id=version_id,
                live_log_loss=row.ewm_log_loss,
                validation_log_loss=validation,
                margin=DRIFT_MARGIN,
                n_graded=row.n_graded,
            )
            data = {
                "model": version.name,
                "version": version.version,
                "version_id": version_id,
                "live_log_loss": row.ewm_log_loss,
                "validation_log_loss": validation,
                "margin": DRIFT_MARGIN,
                "n_graded": row.n_graded,
            }
            audit_record(actor=None, action="model_version.drift", obj=version, after=data)
            logger.warning("model drift", extra=data)
            _live_publish("predictions.models", "model.drift", data)
            drifting.append(version_id)
        elif detected:
            drifting.append(version_id)
        elif warning is not None and not detected:
            warning.cleared_at = timezone.now()
            warning.save(update_fields=["cleared_at"])
            audit_record(
                actor=None,
                action="model_version.drift_cleared",
                obj=version,
                after={"live_log_loss": row.ewm_log_loss, "validation_log_loss": validation},
            )
    return drifting


# --- Champion / challenger -------------------------------------------------------------------------


def shadow_start(*, version_id: int, user=None) -> ShadowModel:
    """Run a candidate ensemble version in shadow: it scores the same props as production."""
    with transaction.atomic():
        version = registry_selectors.model_version_get(version_id=version_id)
        if version is None:
            raise ApplicationError(f"Model version {version_id} does not exist.", code="not_found", status_code=404)
        if version.kind != "ensemble":
            raise ApplicationError(
                "Only ensemble versions are served, so only they run in shadow.", code="not_ensemble"
            )
        if version.status == "production":
            raise ApplicationError(f"{version} is already in production.", code="already_production", status_code=409)
        shadow, _ = ShadowModel.objects.update_or_create(
            model_version=version, defaults={"active": True, "started_by": user if getattr(user, "pk", None) else None}
        )
        audit_record(actor=user, action="model_version.shadow_start", obj=version, after={"shadow": True})
        transaction.on_commit(generation_bump)
    return shadow


def shadow_stop(*, version_id: int, user=None) -> None:
    with transaction.atomic():
        updated = ShadowModel.objects.filter(model_version_id=version_id, active=True).update(active=False)
        if updated:
            version = registry_selectors.model_version_get(version_id=version_id)
            audit_record(actor=user, action="model_version.shadow_stop", obj=version, after={"shadow": False})
            transaction.on_commit(generation_bump)


def _reliability(p_over: np.ndarray, went_over: np.ndarray, bins: int = 10) -> dict:
    """Reliability bins of P(over | no push) and the expected calibration error."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p_over, edges) - 1, 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        chosen = index == b
        count = int(chosen.sum())
        if not count:
            continue
        predicted, observed = float(p_over[chosen].mean()), float(went_over[chosen].mean())
        rows.append({"predicted": predicted, "observed": observed, "count": count})
        ece += count / len(p_over) * abs(predicted - observed)
    return {"bins": rows, "ece": ece}


def challenger_comparisons(*, challenger_version_ids) -> list[dict]:
    """Each challenger against the production version of its name (``challenger_comparison``)
    in three queries whatever their number; challengers without a champion are left out."""
    challengers = registry_selectors.model_versions_by_id(version_ids=challenger_version_ids)
    champion_ids = registry_selectors.production_version_ids(names={v.name for v in challengers.values()})
    champions = registry_selectors.model_versions_by_id(version_ids=champion_ids.values()) if champion_ids else {}
    pairs = []
    for version_id in sorted(challengers):
        challenger = challengers[version_id]
        champion = champions.get(champion_ids.get(challenger.name))
        if champion is not None and champion.pk != challenger.pk:
            pairs.append((challenger, champion))
    graded = Prediction.objects.filter(
        model_version_id__in={version.pk for pair in pairs for version in pair},
        prop_line__isnull=False,
        outcome__in=(Prediction.Outcome.OVER, Prediction.Outcome.UNDER),
    ).values_list("prop_line_id", "model_version_id", "log_loss", "brier", "p_over", "p_under", "outcome")
    by_prop: dict[int, dict] = {}
    for prop, version, log_loss, brier, p_over, p_under, outcome in graded:
        by_prop.setdefault(prop, {})[version] = (log_loss, brier, p_over / max(p_over + p_under, 1e-12), outcome)
    return [_comparison(challenger, champion, by_prop) for challenger, champion in pairs]


def challenger_comparison(*, challenger_version_id: int) -> dict | None:
    """The challenger against the production version of its name on the book props both
    scored and that settled over or under: mean log loss and Brier of each, reliability, and
    the paired difference (challenger − champion) with a 95 % interval."""
    found = challenger_comparisons(challenger_version_ids=[challenger_version_id])
    return found[0] if found else None


def _comparison(challenger, champion, by_prop: dict[int, dict]) -> dict:
    paired = [
        (sides[challenger.pk], sides[champion.pk])
        for sides in by_prop.values()
        if challenger.pk in sides and champion.pk in sides
    ]
    n = len(paired)
    result = {"challenger": challenger, "champion": champion, "n": n}
    if not n:
        return result
    ch = np.array([c for c, _ in paired], dtype=object)
    cp = np.array([p for _, p in paired], dtype=object)
    went_over = np.array([c[3] == Prediction.Outcome.OVER for c, _ in paired])
    log_loss = engine_grading.paired_log_loss_difference(
        np.array([c[0] for c in ch], float), np.array([p[0] for p in cp], float)
    )
    brier = engine_grading.paired_log_loss_difference(
        np.array([c[1] for c in ch], float), np.array([p[1] for p in cp], float)
    )

    def finite(value: float) -> float | None:
        return value if math.isfinite(value) else None

    result.update(
        {
            "challenger_log_loss": float(np.mean([c[0] for c in ch])),
            "champion_log_loss": float(np.mean([p[0] for p in cp])),
            "challenger_brier": float(np.mean([c[1] for c in ch])),
            "champion_brier": float(np.mean([p[1] for p in cp])),
            "log_loss_difference": log_loss.mean_difference,
            "log_loss_ci": (finite(log_loss.ci_low), finite(log_loss.ci_high)),
            "brier_difference": brier.mean_difference,
            "brier_ci": (finite(brier.ci_low), finite(brier.ci_high)),
            "challenger_better": log_loss.challenger_better,
            "challenger_reliability": _reliability(np.array([c[2] for c in ch], float), went_over),
            "champion_reliability": _reliability(np.array([p[2] for p in cp], float), went_over),
        }
    )
    return result
