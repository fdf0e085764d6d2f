"""API authentication: DRF's token scheme, with each process remembering valid keys briefly.

Looking a token up (one query joining its user) is about 0.5-0.8 ms here, the largest single
cost of a cached prediction request (bench/predict.py ``http_cached_p50_ms``). A process keeps
a key it has checked for ``AUTH_TOKEN_CACHE_S`` seconds (default 10; 0 turns this off). A
deleted token, or a change to its user (deactivated, new password), is forgotten at once by the
process that made the change and within ``AUTH_TOKEN_CACHE_S`` by the others.
"""

from __future__ import annotations

import copy
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

# Keys remembered per process at most; the oldest tenth goes when full.
MAX_KEYS = 10_000

_keys: dict[str, tuple[float, object, object]] = {}
_lock = threading.Lock()


def is_token_key(key) -> bool:
    """Whether ``key`` could be a token's key (at most 40 ASCII letters and digits; DRF makes 40
    hex digits). Anything else is refused before a query: a lone surrogate cannot even be sent
    to the database (UnicodeEncodeError), and PostgreSQL refuses a NUL character."""
    return isinstance(key, str) and 0 < len(key) <= 40 and key.isascii() and key.isalnum()


def _remember(key: str, user, token) -> None:
    with _lock:
        if len(_keys) >= MAX_KEYS:
            for old in list(_keys)[: MAX_KEYS // 10]:
                _keys.pop(old, None)
        _keys[key] = (time.monotonic() + settings.AUTH_TOKEN_CACHE_S, user, token)


def forget_user(user_id) -> None:
    with _lock:
        for key in [key for key, (_, user, _) in _keys.items() if user.pk == user_id]:
            del _keys[key]


def forget_all() -> None:
    with _lock:
        _keys.clear()


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        if not is_token_key(key):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if settings.AUTH_TOKEN_CACHE_S <= 0:
            return super().authenticate_credentials(key)
        hit = _keys.get(key)
        if hit is not None and hit[0] > time.monotonic():
            # A copy per request: a view that sets attributes on request.user changes nothing shared.
            return copy.copy(hit[1]), hit[2]
        user, token = super().authenticate_credentials(key)
        _remember(key, user, token)
        return copy.copy(user), token


def _on_token_deleted(sender, instance, **kwargs) -> None:
    with _lock:
        _keys.pop(instance.key, None)


def _on_user_saved(sender, instance, **kwargs) -> None:
    forget_user(instance.pk)


def connect_signals() -> None:
    post_delete.connect(_on_token_deleted, sender=Token, dispatch_uid="accounts.token_cache.token_deleted")
    post_save.connect(_on_user_saved, sender=get_user_model(), dispatch_uid="accounts.token_cache.user_saved")
    post_delete.connect(_on_user_saved, sender=get_user_model(), dispatch_uid="accounts.token_cache.user_deleted")
