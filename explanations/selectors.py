"""Reads of what explanations store per model version."""

from __future__ import annotations

from .models import BackgroundSample, GlobalInsight

TOP_SHOWN = 12


def insight_summary(*, version_id: int) -> dict | None:
    """A version's stored global view (top features), or None before its job ran."""
    insight = GlobalInsight.objects.filter(model_version_id=version_id).first()
    if insight is None:
        return None
    return {
        "model_version": version_id,
        "n_rows": insight.n_rows,
        "computed_at": insight.computed_at.isoformat(),
        "importance": insight.importance[:TOP_SHOWN],
        "dependence_features": list(insight.dependence),
        "additivity_max_error": insight.additivity_max_error,
    }


def insight_get(*, version_id: int) -> GlobalInsight | None:
    return GlobalInsight.objects.filter(model_version_id=version_id).first()


def insights_for_versions(*, version_ids) -> dict[int, GlobalInsight]:
    return {i.model_version_id: i for i in GlobalInsight.objects.filter(model_version_id__in=list(version_ids))}


def background_for_version(*, version_id: int) -> BackgroundSample | None:
    return BackgroundSample.objects.filter(model_version_id=version_id).first()
