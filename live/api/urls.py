from django.urls import path

from .views import AlertPreferenceView, GameEventsView, OddsFeedView

urlpatterns = [
    path("api/odds/", OddsFeedView.as_view(), name="odds"),
    path("api/games/events/", GameEventsView.as_view(), name="game-events"),
    path("api/alerts/preferences/", AlertPreferenceView.as_view(), name="alert-preferences"),
]
