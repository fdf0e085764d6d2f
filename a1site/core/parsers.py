"""The API's one JSON parser (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``).

DRF's ``JSONParser`` catches ``ValueError`` only: a body of 1,000 nested ``[`` raised
``RecursionError`` (a 500), and values that parse but that nothing behind the API can hold
went through: a lone UTF-16 surrogate (``"\\ud800"``, which no UTF-8 encoder accepts), a NUL
character (PostgreSQL refuses it in text) and integers outside 64 bits (no database column
holds them). This parser answers each with 400 in the site's error shape, naming the path into
the body (``props[3].player``), before any view sees the data. Such a value makes the whole
body invalid, like malformed JSON, also in a batch.

Fast path: orjson parses the body (it refuses surrogates and nesting deeper than 1,024 itself; the standard library's
parser refuses nesting as deep as Python's recursion limit),
and the body is walked only when its raw text could hold one of the values above (an escaped
NUL or surrogate, or a run of 19 digits); then the standard library parses it again, exactly
(orjson turns integers past 2^64 into floats).
"""

from __future__ import annotations

import codecs
import json
import re

import orjson
from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_SUSPECT = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|\d{19}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _printable(text: str) -> str:
    """``text`` as it can be shown and encoded: JSON escapes when it holds a control character
    or a surrogate."""
    if text.isprintable() and not _SURROGATE.search(text):
        return text
    return json.dumps(text)[1:-1]


def _problem(value) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain the NUL character (\\u0000)."
        if _SURROGATE.search(value):
            return "must be valid Unicode text: it holds a lone UTF-16 surrogate (\\ud800-\\udfff)."
    elif isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        return f"must be an integer between {INT64_MIN} and {INT64_MAX}."
    return None


def body_problems(data) -> dict[str, list[str]]:
    """Path → messages for every value no A1 store can hold; empty when the body is fine.
    Iterative, so a deep body cannot exhaust the stack here."""
    problems: dict[str, list[str]] = {}
    stack = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, sub in value.items():
                key_path = f"{path}.{_printable(key)}" if path else _printable(key)
                if (message := _problem(key)) is not None:
                    problems.setdefault(key_path, []).append("key " + message)
                stack.append((key_path, sub))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", sub) for index, sub in enumerate(value))
        elif (message := _problem(value)) is not None:
            problems.setdefault(path or "body", []).append(message)
    return problems


class JSONBodyParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            if codecs.lookup(encoding).name != "utf-8":
                raw = raw.decode(encoding).encode("utf-8")
            if not _SUSPECT.search(raw):
                return orjson.loads(raw)
            data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.")
        except (ValueError, LookupError) as exc:  # orjson.JSONDecodeError and UnicodeError are ValueErrors
            raise exceptions.ParseError(f"JSON parse error - {_printable(str(exc))}")
        problems = body_problems(data)
        if problems:
            raise exceptions.ValidationError(problems)
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
