"""Mounted at the site root by a1site.urls, so the paths are full."""

from django.urls import path

from . import views
from .api import views as api_views

app_name = "portfolios"

urlpatterns = [
    path("portfolios/", views.portfolio_list_page, name="list"),
    path("portfolios/new/", views.portfolio_new_page, name="new"),
    path("portfolios/<int:portfolio_id>/", views.portfolio_page, name="detail"),
    path("portfolios/<int:portfolio_id>/runs/<int:run_id>/accept/", views.portfolio_accept, name="accept"),
    path("portfolios/<int:portfolio_id>/backtest/", views.portfolio_backtest, name="backtest"),
    path("api/portfolios/", api_views.PortfolioListView.as_view(), name="api-list"),
    path("api/portfolios/<int:portfolio_id>/", api_views.PortfolioDetailView.as_view(), name="api-detail"),
    path("api/portfolios/<int:portfolio_id>/runs/", api_views.RunListView.as_view(), name="api-runs"),
    path("api/portfolios/<int:portfolio_id>/runs/<int:run_id>/", api_views.RunDetailView.as_view(), name="api-run"),
    path(
        "api/portfolios/<int:portfolio_id>/runs/<int:run_id>/accept/",
        api_views.RunAcceptView.as_view(),
        name="api-run-accept",
    ),
    path("api/portfolios/<int:portfolio_id>/bets/", api_views.BetListView.as_view(), name="api-bets"),
    path("api/portfolios/<int:portfolio_id>/backtest/", api_views.BacktestView.as_view(), name="api-backtest"),
    path(
        "api/portfolios/<int:portfolio_id>/bets/<int:bet_id>/settle/",
        api_views.BetSettleView.as_view(),
        name="api-bet-settle",
    ),
]
