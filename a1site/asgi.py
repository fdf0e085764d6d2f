"""ASGI entry point: HTTP goes to Django, WebSocket (``/ws/``) to the live app's routes.

HTTP reaches Django as WSGI, run in a worker thread by ``a1site.core.wsgi_bridge`` (one
thread hop per request), rather than through Django's ASGI handler. Every A1 view is sync;
under the ASGI handler the middleware chain runs in async mode, where each
``MiddlewareMixin`` middleware (all of Django's, WhiteNoise's, django-prometheus') calls
``process_request`` and ``process_response`` through ``sync_to_async``: some twenty hops
between the event loop and the sync thread per request, plus the view's (``GET /healthz``:
6.6 ms of server CPU there, 1.3 ms here; bench/predict.py ``asgi_healthz_p50_ms``).
``A1_HTTP_THREADS`` (default 2) is how many requests one process runs at once: a slow one
no longer holds up the others; throughput scales with processes (one GIL per process).

The ``lifespan`` scope runs the start-up hooks domain apps register (``a1site.core.lifespan``;
e.g. the embedded demo's simulated odds feed), so uvicorn no longer reports lifespan as
unsupported.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "a1site.settings")
# Django must be set up before anything imports models (the Channels docs' order).
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from a1site.core.health_asgi import HealthzShortcut  # noqa: E402
from a1site.core.lifespan import LifespanApp  # noqa: E402
from a1site.core.websocket_origin import SessionOriginValidator  # noqa: E402
from a1site.core.wsgi_bridge import WSGIBridge  # noqa: E402

application = ProtocolTypeRouter(
    {
        # /healthz on the event loop, never queued behind Django's threads (health_asgi.py).
        "http": HealthzShortcut(
            WSGIBridge(django_wsgi_app, threads=settings.A1_HTTP_THREADS, queue_timeout_s=settings.A1_QUEUE_TIMEOUT_S)
        ),
        # Origin is checked where a session cookie could authenticate (docs/live.md).
        "websocket": SessionOriginValidator(
            AuthMiddlewareStack(URLRouter(import_string(settings.A1_WEBSOCKET_ROUTES)))
        ),
        "lifespan": LifespanApp(),
    }
)
