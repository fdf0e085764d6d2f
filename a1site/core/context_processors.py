from django.conf import settings
from django.urls import NoReverseMatch, reverse

from .nav import nav_entries


def site(request):
    entries = []
    for entry in nav_entries():
        url = None
        if entry.url_name:
            try:
                url = reverse(entry.url_name)
            except NoReverseMatch:
                url = None
        active = bool(url) and (request.path == url or (url != "/" and request.path.startswith(url)))
        entries.append({"key": entry.key, "label": entry.label, "url": url, "active": active})
    return {
        "nav_entries": entries,
        "embedded_mode": not settings.REDIS_URL,
        "request_id": getattr(request, "request_id", ""),
    }
