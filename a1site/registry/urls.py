from django.urls import re_path

from . import views

app_name = "registry"
urlpatterns = [
    re_path(r"^$", views.models_page, name="models"),
    re_path(r"^(?P<version_id>\d+)/(?P<action>activate|rollback)/$", views.model_action, name="action"),
    re_path(r"^(?P<version_id>\d+)/(?P<plot>reliability|importance)\.png$", views.model_plot, name="plot"),
]
