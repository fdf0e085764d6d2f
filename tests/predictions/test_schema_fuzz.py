"""Every operation of /api/schema/, a few generated requests each, as a user and as staff,
against the Django WSGI app with a served mini league: no 5xx, and every answer is one the
schema documents (status, content type, body, headers). Bounded to run in CI in about a minute.

Here, not under tests/a1site, because it needs this folder's ``served`` fixture (a small league
with NBA points models in production) for the prediction endpoints to answer for real.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def tokens(user, staff_user):
    return {
        role: {"Authorization": f"Token {Token.objects.get_or_create(user=who)[0].key}"}
        for role, who in (("user", user), ("staff", staff_user))
    }


from a1site.wsgi import application  # noqa: E402  (pytest-django has set Django up by now)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
# Generated examples only (the coverage phase's boundary and method sweeps took ~5 s an
# operation); "a few examples each" below.
schema.config.phases.coverage.enabled = False
schema.config.phases.stateful.enabled = False


@pytest.mark.django_db
@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, served, tokens):
    for headers in tokens.values():
        case.call_and_validate(headers=headers, checks=CHECKS)
