import re
import uuid

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty

from .errors import json_error_response
from .logging import request_id_var

# Accept a caller's id (from a proxy or client) only if it is short and harmless to log.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Gives every request an id: taken from ``X-Request-ID`` if sane, else a new uuid4.

    The id is on every log line of the request and echoed in the response header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class LazyMessageMiddleware(MessageMiddleware):
    """Django's ``MessageMiddleware`` with the message storage made on first use.

    API requests never touch messages, yet the stock middleware builds the cookie and session
    storages (a cookie signer among them) for every request and updates them in every
    response: ~60 µs of a cached prediction request's ~1.5 ms in Django (bench/predict.py
    ``http_cached_p50_ms``). Pages that add or show messages get the same storage as before.
    """

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)


# Browser features no A1 page uses, switched off for every page and any frame in it.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)


class SecurityHeadersMiddleware:
    """``Permissions-Policy`` on every answer, and ``Cache-Control: no-store`` on API answers
    and on every page a signed-in user gets (a shared or back-button cache must not keep a
    bankroll or a token). Content-Security-Policy comes from django-csp (settings)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if request.path.startswith("/api/") or _signed_in(request):
            response["Cache-Control"] = "no-store"
        return response


def _signed_in(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class ApiErrorShapeMiddleware:
    """Under /api/ every error is the JSON error shape, in every mode: with DEBUG on, Django
    answers an unmatched URL (or a crash) with its HTML debug page, not the site's handlers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            code = _ERROR_CODES.get(response.status_code, "error")
            message = response.reason_phrase + "." if response.status_code < 500 else _server_error_message(request)
            replaced = json_error_response(status_code=response.status_code, code=code, message=message)
            for header in ("Retry-After", "WWW-Authenticate", "Allow", "X-Request-ID"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response


_ERROR_CODES = {
    400: "bad_request",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    500: "server_error",
}


def _server_error_message(request) -> str:
    return f"Internal error. Quote request id {getattr(request, 'request_id', '-')} when reporting it."
