from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from a1site.core.errors import ApplicationError
from a1site.core.panels import render_panels

from . import selectors, services


@login_required
def models_page(request):
    sport = request.GET.get("sport") or None
    versions = selectors.model_version_list(sport=sport)
    sports = selectors.model_version_list().values_list("sport", flat=True).distinct().order_by("sport")
    return render(
        request,
        "registry/models.html",
        {
            "versions": versions,
            "sport": sport,
            "sports": list(sports),
            "panels": render_panels(request, page="models"),
        },
    )


@require_POST
@staff_member_required
def model_action(request, version_id: str, action: str):
    try:
        if action == "activate":
            version = services.model_version_activate(
                version_id=int(version_id), user=request.user, reason="models page"
            )
            messages.success(request, f"{version} is now in production.")
        else:
            current = selectors.model_version_list().get(pk=int(version_id))
            version = services.model_version_rollback(name=current.name, user=request.user)
            messages.success(request, f"{version.name} rolled back to v{version.version}.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("registry:models")


_PLOTS = {"reliability": "reliability_plot", "importance": "importance_plot"}


@login_required
def model_plot(request, version_id: str, plot: str):
    """A version's stored plot (PNG), so pages can show it without serving the media folder."""
    version = get_object_or_404(selectors.model_version_list(), pk=int(version_id))
    image = getattr(version, _PLOTS[plot])
    if not image:
        raise Http404("No such plot.")
    try:
        handle = image.open("rb")
    except FileNotFoundError:
        raise Http404("The plot file is missing.")
    response = FileResponse(handle, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
