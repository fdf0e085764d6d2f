"""Mounted at the site root by a1site.urls (A1_DOMAIN_APPS), so the paths are full."""

from django.urls import path

from . import views
from .api import views as api_views

app_name = "explanations"

urlpatterns = [
    path("api/predictions/<int:prediction_id>/explanation/", api_views.ExplanationView.as_view(), name="explanation"),
    path("api/explanations/batch/", api_views.BatchView.as_view(), name="batch"),
    path("api/explanations/what-if/", api_views.WhatIfView.as_view(), name="what-if"),
    path("api/explanations/jobs/", api_views.ExplanationJobView.as_view(), name="jobs"),
    path("api/explanations/insight-jobs/", api_views.InsightJobView.as_view(), name="insight-jobs"),
    path(
        "api/explanations/plots/waterfall/<int:prediction_id>.<str:fmt>",
        api_views.WaterfallPlotView.as_view(),
        name="plot-waterfall",
    ),
    path(
        "api/explanations/plots/importance/<int:version_id>.<str:fmt>",
        api_views.ImportancePlotView.as_view(),
        name="plot-importance",
    ),
    path(
        "api/explanations/plots/dependence/<int:version_id>/<str:feature>.<str:fmt>",
        api_views.DependencePlotView.as_view(),
        name="plot-dependence",
    ),
    path("explanations/panel/<int:prediction_id>/", views.prediction_panel, name="panel"),
]
