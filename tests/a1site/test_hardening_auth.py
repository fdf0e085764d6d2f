"""Login guessing: forwarded headers do not pick the client's identity; web logins are limited."""

import pytest
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db


def test_token_guesses_with_a_new_forwarded_address_each_time_are_still_throttled(api_client, user, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "1000/min", "user": "1000/min", "auth": "5/min"})
    statuses = [
        api_client.post(
            "/api/auth/token/",
            {"username": "alice", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(8)
    ]
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429] * 3
