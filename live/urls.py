from django.urls import include, path

from . import views

app_name = "live"
urlpatterns = [
    path("live/", views.live_page, name="page"),
    path("", include("live.api.urls")),
]
