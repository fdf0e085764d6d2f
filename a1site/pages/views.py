"""The site's own pages (the dashboard): an entry point above core, jobs and the registry."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from a1site.core.panels import render_panels
from a1site.jobs.selectors import job_list_for_user
from a1site.registry.selectors import production_versions


@login_required
def dashboard(request):
    return render(
        request,
        "core/dashboard.html",
        {
            "production_versions": production_versions(),
            "recent_jobs": job_list_for_user(user=request.user)[:10],
            "panels": render_panels(request, page="dashboard"),
        },
    )
