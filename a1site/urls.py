from importlib.util import find_spec

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from a1site.accounts.api.views import MeView, TokenView
from a1site.audit.api.views import AuditEventViewSet
from a1site.core import metrics_access
from a1site.core import views as core_views
from a1site.jobs.api.views import JobViewSet, WorkerCheckViewSet
from a1site.registry.api.views import ModelVersionViewSet

router = DefaultRouter()
router.register("jobs", JobViewSet, basename="job")
router.register("worker-checks", WorkerCheckViewSet, basename="worker-check")
router.register("model-versions", ModelVersionViewSet, basename="model-version")
router.register("audit-events", AuditEventViewSet, basename="audit-event")

admin.site.site_header = "A1 administration"
admin.site.site_title = "A1 admin"

urlpatterns = [
    path("", include("a1site.pages.urls")),
    path("accounts/", include("a1site.accounts.urls")),
    path("models/", include("a1site.registry.urls")),
    path("admin/", admin.site.urls),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
]

# Domain apps bring their own pages and API routes; named by string so a1site imports none.
# They come before the site's API routes: Django tries the patterns in order, and the
# prediction API (the busiest path) otherwise waited behind the ~25 patterns of the metrics
# and the site's routers (resolving /api/predictions/ took ~90 µs, /healthz ~50 µs). No
# domain route shares a path with a site route.
for app_module in settings.A1_DOMAIN_APPS:
    if find_spec(f"{app_module}.urls") is not None:
        urlpatterns.append(path("", include(f"{app_module}.urls")))

urlpatterns += [
    # django-prometheus' exporter behind a token or an allowed address (docs/security.md).
    path("metrics", metrics_access.metrics, name="prometheus-django-metrics"),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/me/", MeView.as_view(), name="api-me"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(router.urls)),
]

handler400 = "a1site.core.views.bad_request"
handler403 = "a1site.core.views.permission_denied"
handler404 = "a1site.core.views.page_not_found"
handler500 = "a1site.core.views.server_error"
