"""Rendered page fragments kept in the cache under a digest of what they show.

A fragment is rendered from ``context()`` only when none is kept for ``shown``: a plain value
(tuples, lists, dicts, frozen dataclasses, numbers, strings, dates; never a model instance,
whose repr does not hold its data) that changes whenever anything the fragment shows does.
So a kept fragment is never stale, however long it is kept; its lifetime only bounds how long
an unused one takes room in the cache. Fragments are rendered without the request, so no
context processor puts a user's data (or a CSRF token) into a fragment another user gets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone

FRAGMENT_CACHE_S = 300


def cached_fragment(template_name: str, *, shown: object, context: Callable[[], dict]) -> str:
    # The time zone is part of what is shown: the date filter writes times in it.
    digest = repr((template_name, timezone.get_current_timezone_name(), shown)).encode()
    key = f"a1:fragment:{hashlib.blake2b(digest, digest_size=16).hexdigest()}"
    html = cache.get(key)
    if html is None:
        html = render_to_string(template_name, context())
        cache.set(key, html, FRAGMENT_CACHE_S)
    return html
