"""API authentication: DRF's token scheme, with each process remembering valid keys briefly.

Looking a token up (one query joining its user) is about 0.5-0.8 ms here, the largest single
cost of a cached prediction request (bench/predict.py ``http_cached_p50_ms``). A process keeps
a key it has checked for ``AUTH_TOKEN_CACHE_S`` seconds (default 10; 0 turns this off). A
deleted token, or a change to its user (deactivated, new password), is forgotten at once by the
process that made the change and within ``AUTH_TOKEN_CACHE_S`` by the others.

A key not remembered is looked up with SQL written once per process (``TokenLookup``) rather
than DRF's ``select_related("user").get(key=...)``, which Django compiles afresh on every call:
with 10,000 users each sending every 20 s, every API request misses the cache, and compiling
that query was ~14 % of a props request's time in the server (py-spy, bench/http_load.py's
10,000-user mix). Same row, same checks, same messages.
"""

from __future__ import annotations

import copy
import functools
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _
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


class TokenLookup:
    """A token and its user by key in one query, as DRF's ``select_related("user").get(key=key)``
    reads them, with the SQL built once from the two models' fields (its text is then also the
    one PostgreSQL prepares, settings.py ``prepare_threshold``)."""

    def __init__(self) -> None:
        user_model = get_user_model()
        self.alias = router.db_for_read(Token)
        quote = connections[self.alias].ops.quote_name
        self.token_fields = [f.attname for f in Token._meta.concrete_fields]
        self.user_fields = [f.attname for f in user_model._meta.concrete_fields]
        token_columns = [f"t.{quote(f.column)}" for f in Token._meta.concrete_fields]
        user_columns = [f"u.{quote(f.column)}" for f in user_model._meta.concrete_fields]
        user_pk, token_user = user_model._meta.pk.column, Token._meta.get_field("user").column
        self.sql = (
            f"SELECT {', '.join(token_columns + user_columns)}"  # noqa: S608 - names from the models' meta
            f" FROM {quote(Token._meta.db_table)} t"
            f" INNER JOIN {quote(user_model._meta.db_table)} u ON u.{quote(user_pk)} = t.{quote(token_user)}"
            f" WHERE t.{quote(Token._meta.get_field('key').column)} = %s"
        )
        self.user_model = user_model
        # The database's and the fields' converters, as the ORM applies them to a row (SQLite
        # gives a datetime back as text, which its converter parses and makes aware).
        connection = connections[self.alias]
        fields = [*Token._meta.concrete_fields, *user_model._meta.concrete_fields]
        self.converters = []
        for index, field in enumerate(fields):
            column = field.get_col(field.model._meta.db_table)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                self.converters.append((index, found, column))

    def __call__(self, key: str):
        """(user, token) of ``key``, or None when no token has it."""
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, [key])
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row, connection = list(row), connections[self.alias]
            for index, converters, column in self.converters:
                for convert in converters:
                    row[index] = convert(row[index], column, connection)
        n = len(self.token_fields)
        token = Token.from_db(self.alias, self.token_fields, row[:n])
        user = self.user_model.from_db(self.alias, self.user_fields, row[n:])
        token.user = user  # the relation cached, as select_related leaves it
        return user, token


@functools.cache
def _token_lookup() -> TokenLookup:
    return TokenLookup()


def look_up(key: str):
    """(user, token) of ``key`` (``TokenLookup``, built on first use), or None."""
    return _token_lookup()(key)


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        if not is_token_key(key):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        remember = settings.AUTH_TOKEN_CACHE_S > 0
        hit = _keys.get(key) if remember else None
        if hit is not None and hit[0] > time.monotonic():
            # A copy per request: a view that sets attributes on request.user changes nothing shared.
            return copy.copy(hit[1]), hit[2]
        found = look_up(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user, token = found
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if remember:
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
