"""Login guessing: forwarded headers do not pick the client's identity; web logins are limited."""

import pytest
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db


def test_token_guesses_with_a_new_forwarded_address_each_time_are_still_throttled(
    api_client, user, monkeypatch, settings
):
    settings.AXES_ENABLED = False  # the DRF throttle alone (the login lock is tested below)
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


LOGIN_FORMS = ["/accounts/login/", "/admin/login/"]


def _login(client, path, username, password, address="198.51.100.7"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("path", LOGIN_FORMS)
def test_repeated_wrong_passwords_lock_the_account_even_from_new_addresses(client, staff_user, password, path):
    for n in range(4):
        assert _login(client, path, "staff", "wrong", address=f"198.51.100.{n}").status_code == 200
    assert _login(client, path, "staff", "wrong", address="198.51.100.4").status_code == 429
    locked = _login(client, path, "staff", password, address="198.51.100.99")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many failed logins" in text and "15 minutes" in text
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", LOGIN_FORMS)
def test_guessing_many_accounts_from_one_address_locks_the_address(client, make_user, password, path):
    make_user("carol", is_staff=True)
    for n in range(5):
        _login(client, path, f"nobody{n}", "wrong")
    assert _login(client, path, "carol", password).status_code == 429
    # Another address is not affected.
    assert _login(client, path, "carol", password, address="192.0.2.1").status_code == 302


def test_a_right_password_before_the_limit_logs_in(client, user, password):
    for _ in range(4):
        _login(client, "/accounts/login/", "alice", "wrong")
    assert _login(client, "/accounts/login/", "alice", password).status_code == 302


def test_failed_logins_are_recorded_for_admins(client, staff_client, staff_user, password):
    from axes.models import AccessAttempt

    _login(client, "/accounts/login/", "alice", "wrong")
    attempt = AccessAttempt.objects.get()
    assert attempt.username == "alice" and attempt.ip_address == "198.51.100.7" and attempt.failures_since_start == 1
    admin = type(client)()
    admin.force_login(staff_user)
    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "198.51.100.7" in page.content.decode()


def test_the_token_endpoint_shares_the_account_lock(api_client, user, password, monkeypatch):
    rates = {"anon": "1000/min", "user": "1000/min", "auth": "1000/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    for n in range(5):
        api_client.post(
            "/api/auth/token/", {"username": "alice", "password": "x"}, format="json", REMOTE_ADDR=f"192.0.2.{n}"
        )
    response = api_client.post(
        "/api/auth/token/", {"username": "alice", "password": password}, format="json", REMOTE_ADDR="192.0.2.50"
    )
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "locked_out" and "Too many failed logins" in error["message"]
