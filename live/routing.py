"""WebSocket routes, mounted under the auth middleware by a1site.asgi."""

from django.urls import path

from .consumers import LiveConsumer

websocket_urlpatterns: list = [path("ws/", LiveConsumer.as_asgi())]
