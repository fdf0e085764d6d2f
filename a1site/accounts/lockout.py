"""The login lock (django-axes): failed passwords counted per account and per address.

Every form that authenticates with a request counts: /accounts/login/, /admin/login/ and
POST /api/auth/token/. ``AXES_FAILURE_LIMIT`` failures lock the account (from any address)
and the address (for any account) for ``AXES_COOLOFF_MINUTES``; a wrong password during the
lock starts the cool-off again, so a guesser that keeps going stays locked. Each attempt is
an axes ``AccessAttempt`` / ``AccessLog`` row, listed in the admin (docs/security.md).
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.shortcuts import render

from a1site.core.errors import json_error_response


def lockout_message() -> str:
    minutes = round(get_cool_off().total_seconds() / 60)
    return (
        f"Too many failed logins for this account or from this address. Try again in {minutes} minutes; "
        "each further attempt before then starts the wait again."
    )


class LoginLockBackend(AxesStandaloneBackend):
    """axes' backend, except for calls without a request (Django's test client ``login()``, the
    shell, management commands): those are not web logins, and axes would raise."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """429: the API's error shape under /api/, else a page with the reason."""
    if request.path.startswith("/api/"):
        response = json_error_response(status_code=429, code="locked_out", message=lockout_message())
    else:
        response = render(request, "accounts/locked_out.html", {"message": lockout_message()}, status=429)
    response["Retry-After"] = str(int(get_cool_off().total_seconds()))
    return response
