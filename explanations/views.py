"""Sections of the predictions pages (a1site.core.panels): the explanation on a prediction's
detail page and the global view per version on the Models page; and the panel as its own URL
(the same HTML, for a page that loads it later)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string

from a1site.core.errors import ApplicationError
from a1site.registry.selectors import production_versions

from . import selectors, services


def _panel_html(request, prediction_id: int) -> str:
    try:
        explanation = services.explanation_get(prediction_id=prediction_id, user=request.user, level="standard")
        error = None
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise Http404(exc.message) from exc
        explanation, error = None, exc.message
    features = []
    if explanation:
        features = sorted(explanation["contributions"], key=lambda c: c["label"])
    return render_to_string(
        "explanations/panel.html",
        {"prediction_id": prediction_id, "explanation": explanation, "error": error, "features": features},
        request=request,
    )


def prediction_detail_panel(request) -> str | None:
    """The detail page's panel: the prediction id comes from the page's URL."""
    match = getattr(request, "resolver_match", None)
    prediction_id = match.kwargs.get("prediction_id") if match else None
    if prediction_id is None:
        return None
    return _panel_html(request, int(prediction_id))


def models_insight_panel(request) -> str:
    versions = list(production_versions().filter(kind="ensemble").order_by("sport", "stat"))
    insights = selectors.insights_for_versions(version_ids=[v.pk for v in versions])
    rows = [{"version": v, "insight": insights.get(v.pk)} for v in versions]
    return render_to_string("explanations/models_panel.html", {"rows": rows}, request=request)


@login_required
def prediction_panel(request, prediction_id: int):
    return HttpResponse(_panel_html(request, prediction_id))
