"""Mounted at the site root by a1site.urls, so the paths are full."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views
from .api import views as api_views

app_name = "predictions"

router = SimpleRouter()
router.register("sports", api_views.SportViewSet, basename="sport")
router.register("teams", api_views.TeamViewSet, basename="team")
router.register("players", api_views.PlayerViewSet, basename="player")
router.register("games", api_views.GameViewSet, basename="game")
router.register("stat-lines", api_views.StatLineViewSet, basename="stat-line")
router.register("props", api_views.PropLineViewSet, basename="prop")
router.register("results", api_views.ResultViewSet, basename="result")

urlpatterns = [
    path("predictions/", views.props_page, name="props"),
    path("predictions/<int:prediction_id>/", views.prediction_page, name="detail"),
    path("predictions/shadow/<int:version_id>/<str:action>/", views.shadow_action, name="shadow"),
    path("api/predictions/", api_views.PredictionCreateView.as_view(), name="prediction-create"),
    path("api/predictions/batch/", api_views.PredictionBatchView.as_view(), name="prediction-batch"),
    path("api/import/<str:kind>/", api_views.ImportView.as_view(), name="import"),
    path("api/", include(router.urls)),
]
