"""The client's address, one rule for the throttles, the login lock and /metrics."""

from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    """``REMOTE_ADDR``, or behind ``NUM_PROXIES`` trusted proxies the address they forwarded
    (DRF's rule; X-Forwarded-For is ignored when NUM_PROXIES is 0)."""
    return BaseThrottle().get_ident(request)
