"""Web pages of the predictions app."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from . import selectors


@login_required
def props_page(request):
    sport = request.GET.get("sport") or None
    stat = request.GET.get("stat") or None
    try:
        date = dt.date.fromisoformat(request.GET["date"]) if request.GET.get("date") else None
    except ValueError:
        date = None
    props = selectors.prop_list(sport=sport, date=date, stat=stat)
    page = Paginator(props, 50).get_page(request.GET.get("page"))
    sports = list(selectors.sport_list())
    stats = sorted({s.code for s in selectors.sport_stats(sport=sport)}) if sport else []
    return render(
        request,
        "predictions/props.html",
        {"page": page, "sports": sports, "sport": sport, "stat": stat, "date": date, "stats": stats},
    )
