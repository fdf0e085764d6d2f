"""Fixtures shared by every test folder."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def password():
    return "correct-horse-battery-staple"


@pytest.fixture
def make_user(db, password):
    def make(username="alice", *, is_staff=False, is_superuser=False):
        return get_user_model().objects.create_user(
            username=username, password=password, is_staff=is_staff, is_superuser=is_superuser
        )

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def other_user(make_user):
    return make_user("bob")


@pytest.fixture
def staff_user(make_user):
    return make_user("staff", is_staff=True, is_superuser=True)


@pytest.fixture
def api_client():
    return APIClient()


def _token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def user_client(user):
    return _token_client(user)


@pytest.fixture
def other_client(other_user):
    return _token_client(other_user)


@pytest.fixture
def staff_client(staff_user):
    return _token_client(staff_user)


@pytest.fixture
def fresh_broker(settings):
    """The live app's in-memory broker, empty for the test: its history is what was published."""
    from live.backends import reset_broker

    settings.REDIS_URL = ""
    reset_broker()
    yield
    reset_broker()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters and cached values never leak from one test into the next."""
    from django.core.cache import cache

    from a1site.accounts.authentication import forget_all
    from a1site.core.rowcache import clear_all

    forget_all()
    clear_all()

    cache.clear()
    yield
