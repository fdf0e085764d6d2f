"""Security headers: a Content-Security-Policy the pages keep to, Permissions-Policy, and
no-store on signed-in pages and API answers."""

import re

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/predictions/", "/live/", "/models/", "/portfolios/", "/portfolios/new/", "/api/docs/", "/admin/"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part}


def test_pages_carry_a_strict_content_security_policy_and_permissions_policy(client):
    response = client.get("/accounts/login/")
    directives = _directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.parametrize("path", PAGES)
def test_our_pages_hold_no_inline_script_handler_or_style_the_policy_would_block(client, staff_user, path):
    client.force_login(staff_user)
    response = client.get(path)
    assert response.status_code == 200
    _assert_no_inline_code(response.content.decode(), admin=path == "/admin/")


def test_a_portfolio_with_a_run_in_progress_polls_from_a_script_file(client, staff_user):
    from portfolios import services

    bets = [
        {"description": "A over", "decimal_odds": 2.1, "probability": 0.55, "event": "a", "game": "g1"},
        {"description": "B over", "decimal_odds": 1.95, "probability": 0.56, "event": "b", "game": "g1"},
    ]
    portfolio = services.portfolio_create(owner=staff_user, name="p", bankroll=100, limits={}, opportunities=bets)
    services.portfolio_optimize(portfolio=portfolio, user=staff_user)  # queued: its job runs after commit
    client.force_login(staff_user)
    html = client.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert 'data-testid="run-progress"' in html and "portfolios/progress.js" in html
    _assert_no_inline_code(html)


def _assert_no_inline_code(html: str, *, admin: bool = False) -> None:
    if not admin:  # Django's admin is its own; checked for scripts only
        assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html)
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html)


def test_the_api_docs_script_is_served_from_the_site(client, staff_user):
    client.force_login(staff_user)
    html = client.get("/api/docs/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts and all(s.startswith("/") for s in scripts)
    for src in scripts:
        assert client.get(src).status_code == 200, src


def test_signed_in_pages_and_api_answers_are_not_stored(client, user, user_client):
    client.force_login(user)
    assert "no-store" in client.get("/")["Cache-Control"]
    assert "no-store" in user_client.get("/api/me/")["Cache-Control"]
    assert "no-store" in client.get("/api/no-such-thing/")["Cache-Control"]
