import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from a1site.jobs.selectors import job_list_for_user

from .engine.feed import SPORTS
from .engine.protocol import CLOSE_CODES


@login_required
def live_page(request):
    jobs = [job for job in job_list_for_user(user=request.user)[:10] if not job.is_finished]
    # predictions.{sport}: the Predictions column (prediction.updated from the predictions app).
    topics = (
        [f"odds.{sport}" for sport in SPORTS]
        + [f"predictions.{sport}" for sport in SPORTS]
        + ["alerts"]
        + [f"jobs.{job.id}" for job in jobs]
    )
    return render(
        request,
        "live/page.html",
        {
            "topics_json": json.dumps(topics),
            "jobs": jobs,
            "close_codes": CLOSE_CODES,
            "nav_active": "live",
        },
    )
