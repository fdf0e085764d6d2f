"""Web pages of the predictions app: the props list with predictions, a prediction's detail."""

import datetime as dt
import math

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.views.decorators.http import require_POST

from a1site.core.errors import ApplicationError
from a1site.core.pagination import CachedCountPaginator
from a1site.core.panels import render_panels
from a1site.core.rowcache import PageCache, RowCache

from . import charts, grading, selectors, services
from .engine.metrics import side_edges

PAGE_SIZE = 50
# The Predictions page's rendered rows, under each row's version (a1site/core/rowcache.py):
# templating 50 rows was ~25 of the page's ~40 ms.
PAGE_ROWS = RowCache("props_page")
# Its whole table (rows, page and count, the sports), under the props list's generation.
PAGE_TABLES = PageCache("props_page_tables")


def _float_param(value):
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _render_rows(found: list[tuple]) -> list:
    template = get_template("predictions/_prop_row.html")
    return [template.render({"p": prop, "prediction": prediction}) for prop, prediction in found]


@login_required
def props_page(request):
    sport = request.GET.get("sport") or None
    stat = request.GET.get("stat") or None
    try:
        date = dt.date.fromisoformat(request.GET["date"]) if request.GET.get("date") else None
    except ValueError:
        date = None
    min_edge_percent = _float_param(request.GET.get("min_edge"))
    sort = request.GET.get("sort") or "-date"
    if sort not in selectors.PROP_SORTS:
        sort = "-date"
    min_edge = None if min_edge_percent is None else min_edge_percent / 100.0

    def table():
        keys = selectors.priced_prop_keys(sport=sport, date=date, stat=stat, min_edge=min_edge, sort=sort)
        page = CachedCountPaginator(keys, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
        page.paginator.num_pages  # noqa: B018 (counted here, once, not by each request that shows it)
        page.paginator.object_list = None  # only its count is shown; the query is not kept
        rows = selectors.rendered_prop_rows(PAGE_ROWS, page.object_list, _render_rows)
        return page, rows, list(selectors.sport_list())

    key = (sport, date, stat, min_edge, sort, request.GET.get("page"))
    page, rows, sports = selectors.props_list_page(PAGE_TABLES, key, table)
    stats = sorted({s.code for s in selectors.sport_stats(sport=sport)}) if sport else []
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = request.GET.copy()
    sort_query.pop("sort", None)
    sort_query.pop("page", None)
    return render(
        request,
        "predictions/props.html",
        {
            "page": page,
            "rows": rows,
            "sports": sports,
            "sport": sport,
            "stat": stat,
            "date": date,
            "stats": stats,
            "sort": sort,
            "min_edge": request.GET.get("min_edge", ""),
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
        },
    )


# Rendered charts are kept an hour: a stored prediction never changes.
CHART_CACHE_S = 3600


@login_required
def prediction_page(request, prediction_id: int):
    prediction = selectors.prediction_get(prediction_id=prediction_id, include_shadow=request.user.is_staff)
    if prediction is None:
        raise Http404("No such prediction.")
    chart_key = f"predictions:chart:{prediction.pk}"
    chart = cache.get(chart_key)
    if chart is None:
        distribution = services.prediction_distribution(prediction=prediction)
        chart = ""
        if distribution:
            label = " (simulated data)" if prediction.simulated else ""
            chart = charts.distribution_chart(
                distribution["values"],
                distribution["probabilities"],
                line=prediction.line,
                title=f"{prediction.player.name}: {prediction.stat}, model distribution{label}",
            )
        cache.set(chart_key, chart, CHART_CACHE_S)
    edge_over, edge_under = (
        None if odds is None or not math.isfinite(edge) else float(edge)
        for odds, edge in zip(
            (prediction.over_decimal_odds, prediction.under_decimal_odds),
            side_edges(
                prediction.p_over,
                prediction.p_under,
                prediction.over_decimal_odds or math.nan,
                prediction.under_decimal_odds or math.nan,
            ),
            strict=True,
        )
    )
    return render(
        request,
        "predictions/detail.html",
        {
            "prediction": prediction,
            "chart": chart,
            "edge_over": edge_over,
            "edge_under": edge_under,
            "sport": prediction.game.sport,
            # Other apps' sections (the explanations app's waterfall, reasons and what-if).
            "panels": render_panels(request, page="prediction_detail"),
        },
    )


@require_POST
@staff_member_required
def shadow_action(request, version_id: int, action: str):
    if action not in ("start", "stop"):
        raise Http404("Unknown action.")
    try:
        if action == "start":
            grading.shadow_start(version_id=version_id, user=request.user)
            messages.success(request, "The version now runs in shadow on every slate.")
        else:
            grading.shadow_stop(version_id=version_id, user=request.user)
            messages.success(request, "Shadow stopped.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("registry:models")
