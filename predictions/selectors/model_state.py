"""Reads of the served models' state kept by the predictions app: live metrics, ensemble
weights, drift warnings, snapshots and shadows (the versions themselves: the registry's
selectors)."""

from __future__ import annotations

from django.db.models import F, OuterRef, Subquery, Window
from django.db.models.functions import RowNumber

from a1site.registry import selectors as registry_selectors

from ..models import DriftWarning, EnsembleWeights, LiveMetricsSnapshot, ModelLiveMetrics, ShadowModel
from .rows import eq, in_, quoted, select_rows


def live_metrics_by_version(*, version_ids) -> dict[int, dict[str, object]]:
    """version id → member ("" for the version) → ModelLiveMetrics."""
    out: dict[int, dict[str, object]] = {}
    for row in ModelLiveMetrics.objects.filter(model_version_id__in=list(version_ids)):
        out.setdefault(row.model_version_id, {})[row.member] = row
    return out


def open_drift_warnings(*, version_ids=None):
    queryset = DriftWarning.objects.filter(cleared_at__isnull=True).select_related("model_version")
    if version_ids is not None:
        queryset = queryset.filter(model_version_id__in=list(version_ids))
    return queryset


def production_health() -> list[dict]:
    """Each production ensemble's name and number ("version"), held-out log loss
    ("validation") and live metrics ("live": EWM log loss, graded props, hit rate; None before
    its first grading), as plain values, in two hand-written SELECTs (rows.py: the ORM takes
    longer to build them than the database to answer)."""
    versions = registry_selectors.production_held_out_log_losses(kind="ensemble")
    live = {
        version_id: {"ewm_log_loss": ewm, "n_graded": n_graded, "hit_rate": hit_rate}
        for version_id, ewm, n_graded, hit_rate in (
            select_rows(
                ModelLiveMetrics,
                ("model_version", "ewm_log_loss", "n_graded", "hit_rate"),
                all_of=[in_("model_version_id", [pk for pk, *_ in versions]), eq("member", "")],
            )
            if versions
            else []
        )
    }
    return [
        {"version": {"name": name, "version": number}, "validation": validation, "live": live.get(pk)}
        for pk, name, number, validation in versions
    ]


def open_drift_summaries() -> list[dict]:
    """The open drift warnings, newest first, as plain values: the version's name and number,
    the live and the held-out log loss (one hand-written SELECT, and one more for the
    versions' names while any is open)."""
    rows = select_rows(
        DriftWarning,
        ("pk", "model_version", "live_log_loss", "validation_log_loss", "created_at"),
        all_of=[(f"{quoted('cleared_at')} IS NULL", [])],
    )
    rows.sort(key=lambda row: (row[4], row[0]), reverse=True)
    labels = registry_selectors.version_labels(version_ids=[row[1] for row in rows])
    return [
        {
            "model_version": dict(zip(("name", "version"), labels.get(version_id, ("", "")), strict=True)),
            "live_log_loss": live,
            "validation_log_loss": held_out,
        }
        for _, version_id, live, held_out, _ in rows
    ]


def _latest_per_version(model, *, version_ids, order: tuple[str, ...], limit: int) -> dict[int, list]:
    """version id → its latest ``limit`` rows of ``model`` (oldest first), in one query (a
    window function numbers each version's rows newest first)."""
    newest_first = [F(name[1:]).desc() if name.startswith("-") else F(name).asc() for name in order]
    rows = (
        model.objects.filter(model_version_id__in=list(version_ids))
        .annotate(rank=Window(RowNumber(), partition_by=[F("model_version_id")], order_by=newest_first))
        .filter(rank__lte=limit)
        .order_by("model_version_id", *order)
    )
    out: dict[int, list] = {}
    for row in rows:
        out.setdefault(row.model_version_id, []).append(row)
    return {version: list(reversed(found)) for version, found in out.items()}


def weights_history_by_version(*, version_ids, limit: int = 200) -> dict[int, list]:
    """version id → its latest ``limit`` EnsembleWeights rows, oldest first."""
    return _latest_per_version(EnsembleWeights, version_ids=version_ids, order=("-created_at", "-id"), limit=limit)


def live_snapshots_by_version(*, version_ids, limit: int = 500) -> dict[int, list]:
    """version id → its latest ``limit`` LiveMetricsSnapshot rows, oldest first."""
    return _latest_per_version(LiveMetricsSnapshot, version_ids=version_ids, order=("-taken_at", "-id"), limit=limit)


def active_shadows():
    return ShadowModel.objects.filter(active=True).select_related("model_version")


def latest_weights_ids(*, version_ids) -> dict[int, int]:
    """version id → id of its latest EnsembleWeights row, for the versions that have one."""
    latest = EnsembleWeights.objects.filter(model_version=OuterRef("model_version")).order_by("-created_at", "-id")
    rows = (
        EnsembleWeights.objects.filter(model_version_id__in=list(version_ids))
        .filter(pk=Subquery(latest.values("pk")[:1]))
        .values_list("model_version_id", "pk")
    )
    return dict(rows)


def active_shadow_states(*, names) -> list[tuple[str, int, int | None]]:
    """(name, version id, latest weights id) of each active shadow of these model names that
    is not in production, by version id."""
    latest_weights = EnsembleWeights.objects.filter(model_version=OuterRef("model_version")).order_by(
        "-created_at", "-id"
    )
    return list(
        ShadowModel.objects.filter(active=True, model_version__name__in=list(names))
        .exclude(model_version__status="production")
        .annotate(weights_id=Subquery(latest_weights.values("id")[:1]))
        .order_by("model_version_id")
        .values_list("model_version__name", "model_version_id", "weights_id")
    )


def ensemble_weights_get(*, weights_id: int) -> dict:
    """The member weights of one EnsembleWeights row (kind → weight)."""
    return EnsembleWeights.objects.get(pk=weights_id).weights
