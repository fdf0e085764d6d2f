from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from a1site.core.errors import ApplicationError

from . import selectors, services


@login_required
def models_page(request):
    sport = request.GET.get("sport") or None
    versions = selectors.model_version_list(sport=sport)
    sports = selectors.model_version_list().values_list("sport", flat=True).distinct().order_by("sport")
    return render(request, "registry/models.html", {"versions": versions, "sport": sport, "sports": list(sports)})


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
