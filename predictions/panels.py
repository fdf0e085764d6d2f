"""The predictions app's sections on a1site's pages (a1site.core.panels): today's best edges
and model health on the Dashboard, live performance and champion/challenger on Models."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from a1site.core.fragments import cached_fragment
from a1site.registry import selectors as registry_selectors

from . import charts, grading, selectors
from .engine.features import feature_schema_current
from .engine.sports import SPORTS


def dashboard_edges(request) -> str:
    """Today's best edges and the production ensembles' health.

    The model health and drift rows are read as plain values on each view, the best edges by
    their version (the newest prop line's id and the newest id of a prediction of a prop
    line: ``selectors.best_edges_version``); the HTML is rendered only when one
    of them or the date has changed (a1site.core.fragments), and every user shares it."""
    today = timezone.now().date()
    health = selectors.production_health()
    drift = selectors.open_drift_summaries()
    edges_version = selectors.best_edges_version()
    return cached_fragment(
        "predictions/panels/dashboard.html",
        shown=(today, edges_version, health, drift),
        context=lambda: {
            "today": today,
            "best": selectors.best_edges(date=today, version=edges_version),
            "health": health,
            "drift": drift,
        },
    )


def _version_card(version, *, live: dict, shadow: bool, snapshots: list, history: list) -> dict:
    validation = (version.metrics or {}).get("log_loss")
    series: dict[str, list] = {}
    for snapshot in snapshots:
        if snapshot.ewm_log_loss is not None:
            label = "ensemble" if not snapshot.member else snapshot.member
            series.setdefault(label, []).append((snapshot.n_graded, snapshot.ewm_log_loss))
    weight_series: dict[str, list] = {}
    for step, row in enumerate(history):
        for kind, weight in row.weights.items():
            weight_series.setdefault(kind, []).append((step, weight))
    return {
        "version": version,
        "shadow": shadow,
        "validation": validation,
        "live": live.get(""),
        "members": [(member, row) for member, row in sorted(live.items()) if member],
        "weights": history[-1].weights if history else (version.metrics or {}).get("ensemble_weights"),
        "performance_chart": charts.line_chart(
            series,
            title=f"{version.name} v{version.version}: live log loss (EWM)",
            y_label="graded props →",
            reference=("held-out", validation) if validation is not None else None,
            testid="live-performance-chart",
        ),
        "weights_chart": charts.line_chart(
            weight_series,
            title="Ensemble weights over time",
            y_label="weight updates →",
            testid="weights-chart",
        )
        if len(history) > 0
        else "",
    }


def _schema_outdated(version) -> bool:
    """Whether a version was trained on features this code no longer computes."""
    if version.sport not in SPORTS:
        return False
    return not feature_schema_current(version.sport, version.stat, (version.feature_schema or {}).get("version"))


def _marcel_rows(versions) -> list[dict]:
    """Production MLB ensembles' held-out MAE against the fair and the plain Marcel (the
    baselines training scored on the same test props; docs/predictions.md)."""
    rows = []
    for version in versions:
        metrics = version.metrics or {}
        baselines = metrics.get("baselines") or {}
        mae = metrics.get("mae")
        fair, plain = (baselines.get(name, {}).get("mae") for name in ("fair_marcel", "marcel"))
        if version.sport == "mlb" and mae and fair and plain:
            rows.append(
                {"version": version, "mae": mae, "fair": mae / fair, "plain": mae / plain, "n": metrics.get("n_test")}
            )
    return rows


def models_live(request) -> str:
    sport = request.GET.get("sport") or None
    versions = registry_selectors.model_version_list(sport=sport, kind="ensemble").order_by("name", "-version")
    shadows = {row.model_version_id for row in selectors.active_shadows()}
    metrics = selectors.live_metrics_by_version(version_ids=versions.values_list("pk", flat=True))
    shown = [v for v in versions if v.status == "production" or v.pk in shadows or v.pk in metrics]
    snapshots = selectors.live_snapshots_by_version(version_ids=[v.pk for v in shown])
    histories = selectors.weights_history_by_version(version_ids=[v.pk for v in shown])
    cards = [
        _version_card(
            v,
            live=metrics.get(v.pk, {}),
            shadow=v.pk in shadows,
            snapshots=snapshots.get(v.pk, []),
            history=histories.get(v.pk, []),
        )
        for v in shown
    ]
    comparisons = grading.challenger_comparisons(challenger_version_ids=sorted(shadows))
    candidates = [v for v in versions if v.status == "candidate" and v.pk not in shadows]
    # Versions trained on features this code no longer computes: serving leaves them unserved.
    outdated = [v for v in shown if _schema_outdated(v)]
    return render_to_string(
        "predictions/panels/models.html",
        {
            "marcel": _marcel_rows(v for v in versions if v.status == "production"),
            "cards": cards,
            "comparisons": comparisons,
            "candidates": candidates,
            "shadows": [v for v in versions if v.pk in shadows],
            "drift": list(selectors.open_drift_warnings()),
            "outdated": outdated,
        },
        request=request,
    )
