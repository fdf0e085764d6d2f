"""Plots served by URL, cached like the values (the explanations cache, keyed by what they
show: the prediction and its version, or the version's stored insight)."""

from __future__ import annotations

from django.conf import settings

from a1site.core.errors import ApplicationError

from ..engine import plots
from ..engine.labels import stat_unit
from ..selectors import insight_get
from .explaining import explanation_get, explanations_cache

__all__ = ["plot_waterfall", "plot_importance", "plot_dependence", "PLOT_FORMATS"]

PLOT_FORMATS = plots.FORMATS


def _check_format(fmt: str) -> None:
    if fmt not in plots.FORMATS:
        raise ApplicationError(f"unknown format {fmt!r}; use png or svg", fields={"format": ["png or svg"]})


def plot_waterfall(*, prediction_id: int, user, output: str = "mean", fmt: str = "png") -> bytes:
    _check_format(fmt)
    if output not in ("mean", "p_over"):
        raise ApplicationError("output must be mean or p_over", fields={"output": ["mean or p_over"]})
    explanation = explanation_get(prediction_id=prediction_id, user=user, level="standard")
    version = explanation["model_version"]["id"]
    key = f"explplot:waterfall:{prediction_id}:{version}:{output}:{fmt}"
    cache = explanations_cache()
    image = cache.get(key)
    if image is None:
        out = explanation["outputs"][output]
        simulated = " (simulated data)" if explanation["prediction"]["simulated"] else ""
        image = plots.waterfall(
            base=out["base"],
            value=out["explained"],
            labels=[c["label"] for c in explanation["contributions"]],
            contributions=[c[output] for c in explanation["contributions"]],
            title=f"{explanation['prediction']['player']}: {out['label']}{simulated}",
            unit=out["label"],
            fmt=fmt,
        )
        cache.set(key, image, settings.EXPLANATIONS_CACHE_TTL_S)
    return image


def _insight(version_id: int):
    insight = insight_get(version_id=version_id)
    if insight is None:
        raise ApplicationError(
            "This version has no global insight yet; start its job.", code="not_found", status_code=404
        )
    return insight


def plot_importance(*, version_id: int, fmt: str = "png", top: int = 15) -> bytes:
    _check_format(fmt)
    insight = _insight(version_id)
    key = f"explplot:bar:{version_id}:{insight.computed_at.timestamp()}:{fmt}"
    cache = explanations_cache()
    image = cache.get(key)
    if image is None:
        rows = insight.importance[:top]
        version = insight.model_version
        image = plots.importance_bar(
            labels=[r["label"] for r in rows],
            values=[r["mean_abs_mean"] for r in rows],
            title=f"{version.name} v{version.version}: global importance (predicted mean)",
            unit=stat_unit(version.stat),
            fmt=fmt,
        )
        cache.set(key, image, settings.EXPLANATIONS_CACHE_TTL_S)
    return image


def plot_dependence(*, version_id: int, feature: str, fmt: str = "png") -> bytes:
    _check_format(fmt)
    insight = _insight(version_id)
    if feature not in insight.dependence:
        raise ApplicationError(
            f"no dependence stored for {feature!r}; stored: {', '.join(insight.dependence)}",
            fields={"feature": [f"one of {', '.join(insight.dependence)}"]},
        )
    key = f"explplot:dep:{version_id}:{insight.computed_at.timestamp()}:{feature}:{fmt}"
    cache = explanations_cache()
    image = cache.get(key)
    if image is None:
        version = insight.model_version
        data = insight.dependence[feature]
        image = plots.dependence(
            x=data["x"],
            shap=data["shap"],
            feature=feature,
            title=f"{version.name} v{version.version}: dependence on {feature}",
            unit=stat_unit(version.stat),
            fmt=fmt,
        )
        cache.set(key, image, settings.EXPLANATIONS_CACHE_TTL_S)
    return image
