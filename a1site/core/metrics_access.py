"""Who may read ``/metrics``: Prometheus with ``METRICS_TOKEN`` as a bearer token, or a
scraper on an address in ``METRICS_ALLOWED_NETWORKS`` (loopback by default).

The page names every view with its traffic, job counts and model names: nothing for the
public. The address is the socket's (``REMOTE_ADDR``), or, behind ``NUM_PROXIES`` trusted
proxies, the client address they forwarded (DRF's rule, the same the throttles key on).
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

from .addresses import client_address
from .errors import error_body


def _token_matches(request) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(offered.strip(), token)


def _address_allowed(request) -> bool:
    try:
        address = ipaddress.ip_address(client_address(request).strip())
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in settings.METRICS_ALLOWED_NETWORKS)


@never_cache
def metrics(request):
    if _token_matches(request) or _address_allowed(request):
        return ExportToDjangoView(request)
    response = JsonResponse(
        error_body(
            code="not_authenticated",
            message="Metrics need 'Authorization: Bearer <METRICS_TOKEN>' or an address in METRICS_ALLOWED_NETWORKS.",
        ),
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
