"""The site's own pages (the dashboard): an entry point above core, jobs and the registry."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from a1site.core.fragments import cached_fragment
from a1site.core.panels import render_panels
from a1site.jobs.selectors import recent_jobs_for_user
from a1site.registry.selectors import production_version_summaries


@login_required
def dashboard(request):
    """Each section is read as plain values and rendered only when they changed (fragments):
    the production versions are everyone's, the recent jobs the user's own."""
    versions = production_version_summaries()
    jobs = recent_jobs_for_user(user=request.user)
    return render(
        request,
        "core/dashboard.html",
        {
            "production_versions": cached_fragment(
                "core/_production_versions.html",
                shown=versions,
                context=lambda: {"production_versions": versions},
            ),
            "recent_jobs": cached_fragment("core/_recent_jobs.html", shown=jobs, context=lambda: {"recent_jobs": jobs}),
            "panels": render_panels(request, page="dashboard"),
        },
    )
