"""`make run` prints the demo user's password on the first run only; later runs say how to
set a new one (bootstrap_demo calls ensure_demo_user)."""

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("ensure_demo_user", *args, stdout=out)
    return out.getvalue()


def test_later_runs_keep_the_password_and_say_how_to_set_a_new_one():
    first = run("--username", "demo-first-hour")
    password = first.split("password:")[1].strip()
    assert authenticate(username="demo-first-hour", password=password)

    later = run("--username", "demo-first-hour")
    assert "password:" not in later
    assert "python manage.py ensure_demo_user --password NEW" in later
    assert authenticate(username="demo-first-hour", password=password)

    run("--username", "demo-first-hour", "--password", "a-new-long-pass-1")
    assert authenticate(username="demo-first-hour", password="a-new-long-pass-1")
