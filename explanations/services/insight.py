"""The global view of a model version: mean |SHAP| per feature and the dependence of the
predicted mean on its top features, computed once per version (a job) over its background
sample and stored."""

from __future__ import annotations

import numpy as np
from django.db import transaction

from a1site.jobs.services import ProgressFn
from a1site.registry import selectors as registry_selectors

from ..engine import combine
from ..engine.labels import label_for
from ..models import GlobalInsight
from .explaining import explainer_for_version

__all__ = ["global_insight_compute", "DEPENDENCE_FEATURES"]

DEPENDENCE_FEATURES = 4
# Rows explained per step, so a person sees progress.
CHUNK = 50


def global_insight_compute(*, version_id: int, user=None, job_id=None, progress: ProgressFn | None = None):
    """Explain the version's background rows and store its GlobalInsight (replacing an older
    one of the same version: the same rows give the same numbers, so a rerun is harmless)."""
    version = registry_selectors.model_version_get(version_id=version_id)
    loaded = explainer_for_version(version_id=version_id)
    explainer = loaded.explainer
    rows = explainer.background
    mean_values, log_values, errors = [], [], []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        means = explainer.member_params(chunk)[0]
        members = [member.explain(chunk, means[:, column]) for column, member in enumerate(explainer.members)]
        base, values = combine.ensemble_mean(members, explainer.weights)
        served = means @ explainer.weights
        errors.append(np.abs(base + values.sum(axis=1) - served))
        mean_values.append(values)
        log_values.append(sum(w * m.values for w, m in zip(explainer.weights, members, strict=True)))
        if progress:
            progress(
                min(1.0, (start + CHUNK) / len(rows)), f"explained {min(start + CHUNK, len(rows))} of {len(rows)} rows"
            )
    mean_values = np.vstack(mean_values)
    log_values = np.vstack(log_values)
    mean_abs = np.abs(mean_values).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    importance = [
        {
            "feature": explainer.names[j],
            "label": label_for(version.sport, version.stat, explainer.names[j]).text,
            "mean_abs_mean": float(mean_abs[j]),
            "mean_abs_log": float(np.abs(log_values[:, j]).mean()),
        }
        for j in order
    ]
    dependence = {}
    for j in order[:DEPENDENCE_FEATURES]:
        finite = np.isfinite(rows[:, j])
        dependence[explainer.names[j]] = {
            "x": rows[finite, j].tolist(),
            "shap": mean_values[finite, j].tolist(),
        }
    with transaction.atomic():
        insight, _ = GlobalInsight.objects.update_or_create(
            model_version=version,
            defaults={
                "n_rows": len(rows),
                "importance": importance,
                "dependence": dependence,
                "additivity_max_error": float(np.concatenate(errors).max()),
                "job_id": job_id,
                "computed_by": user,
            },
        )
    return insight
