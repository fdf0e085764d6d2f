"""One error type for business rules and one JSON shape for every client error.

Shape: ``{"error": {"code": str, "message": str, "fields": {field_or_row: [messages]}}}``.
Anything that is not a client error stays a 500 and is logged with the request id.
"""

from __future__ import annotations

import logging

import pybreaker
import redis
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from kombu.exceptions import OperationalError as BrokerUnreachable
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A broken business rule. ``code`` is stable and documented; ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, code: str = "invalid", status_code: int = 400, fields=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.fields = fields or {}


def error_body(*, code: str, message: str, fields=None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten_detail(detail) -> dict:
    """DRF's nested ``detail`` → {"field": ["msg", ...]}; list items become "field[3].sub"."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}[{index}]", sub)
        else:
            messages = value if isinstance(value, list) else [value]
            flat.setdefault(prefix or "non_field_errors", []).extend(str(m) for m in messages)

    walk("", detail)
    return flat


def _django_validation_fields(error: DjangoValidationError) -> dict:
    if hasattr(error, "error_dict"):
        return {field: [str(m) for e in errs for m in e.messages] for field, errs in error.error_dict.items()}
    return {"non_field_errors": [str(m) for m in error.messages]}


# Redis (cache, broker, live) unreachable where no service said what to do about it: still a
# 503 in the error shape, not an HTML 500 (a1site/core/resilience.py says what the site degrades to).
UNAVAILABLE_ERRORS = (redis.RedisError, pybreaker.CircuitBreakerError, BrokerUnreachable)
UNAVAILABLE_RETRY_AFTER_S = 5


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        response = Response(error_body(code=exc.code, message=exc.message, fields=exc.fields), status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, UNAVAILABLE_ERRORS):
        logger.warning("a dependency is unreachable: %r", exc)
        response = Response(
            error_body(code="unavailable", message="A service this needs is unreachable; retry shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
        return response
    if isinstance(exc, DjangoValidationError):
        fields = _django_validation_fields(exc)
        return Response(
            error_body(code="invalid", message="Invalid input.", fields=fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django answers 500 and the logger records it with the request id
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_detail(exc.detail)
        message = "Invalid input: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        response.data = error_body(code="invalid", message=message, fields=fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(code=str(code), message=str(detail))
    return response


def json_error_response(*, status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message), status=status_code)
