"""WebSocket routes, mounted under the auth middleware by a1site.asgi. Filled in by the live issue."""

websocket_urlpatterns: list = []
