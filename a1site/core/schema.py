"""The OpenAPI schema says what the API answers: the error shape on every operation.

``document_errors`` (a drf-spectacular postprocessing hook, SPECTACULAR_SETTINGS) adds the one
error body, ``{"error": {"code", "message", "fields"}}`` (a1site/core/errors.py), as the
answer for the client errors every operation can give and that a view did not document
itself: 400, 401, 403, 404 and 429 everywhere, 409 on changes, 413 and 415 where a body is taken.

``openapi_30_bounds`` rewrites JSON Schema's numeric ``exclusiveMinimum``/``exclusiveMaximum``
(OpenAPI 3.1, as a field's hand-written schema may say) into OpenAPI 3.0's form, the version
drf-spectacular writes: the bound in ``minimum``/``maximum`` and the flag ``true``. Left as a
number, generators and validators reject the whole operation's schema.
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "Stable, e.g. invalid, not_found, throttled."},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Where: a field, a path into the body (props[3].player) or a row.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "additionalProperties": True,
        }
    },
}
ERRORS = {
    "400": "Invalid input: the body or a parameter, named in fields.",
    "401": "Not authenticated.",
    "403": "Not allowed.",
    "404": "Not found (or another user's).",
    "429": "Throttled or locked out; see Retry-After.",
}
CHANGE_ERRORS = {"409": "Conflicts with the current state (e.g. nothing to roll back to)."}
BODY_ERRORS = {
    "413": "The body (or a batch) is larger than this endpoint takes.",
    "415": "Not a JSON body (or a type this endpoint takes).",
}


def document_errors(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = {**ERRORS, **(BODY_ERRORS if "requestBody" in operation else {})}
            if method in ("post", "put", "patch", "delete"):
                errors.update(CHANGE_ERRORS)
            for status, description in errors.items():
                operation["responses"].setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result


def openapi_30_bounds(result, generator, request, public):
    if not str(result.get("openapi", "")).startswith("3.0"):
        return result
    stack = [result]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
                value = node.get(flag)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    node[bound], node[flag] = value, True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return result
