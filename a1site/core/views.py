from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .errors import json_error_response
from .health import readiness


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    checks = readiness()
    failed = [name for name, result in checks.items() if result != "ok"]
    return JsonResponse(
        {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks},
        status=503 if failed else 200,
    )


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _error_page(request, *, status_code: int, code: str, message: str):
    if _is_api(request):
        return json_error_response(status_code=status_code, code=code, message=message)
    return render(request, "error.html", {"status_code": status_code, "message": message}, status=status_code)


def bad_request(request, exception=None):
    return _error_page(request, status_code=400, code="bad_request", message="Bad request.")


def permission_denied(request, exception=None):
    return _error_page(
        request, status_code=403, code="permission_denied", message="You do not have permission to do this."
    )


def page_not_found(request, exception=None):
    return _error_page(request, status_code=404, code="not_found", message="Not found.")


def server_error(request):
    message = f"Internal error. Quote request id {getattr(request, 'request_id', '-')} when reporting it."
    if _is_api(request):
        return json_error_response(status_code=500, code="server_error", message=message)
    return render(request, "error.html", {"status_code": 500, "message": message}, status=500)
