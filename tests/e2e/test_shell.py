import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_login_page_renders_in_chromium(page, live_server, screenshot):
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.title() == "Log in · A1"
    assert page.is_visible("#id_username") and page.is_visible("#id_password")
    assert screenshot("login").stat().st_size > 5_000


def test_demo_user_logs_in_and_sees_the_shell(page, live_server, user, login, screenshot):
    login(user)
    assert page.url == f"{live_server.url}/"
    assert page.inner_text('[data-testid="current-user"]') == "alice"
    nav = page.inner_text("nav")
    for label in ("Dashboard", "Predictions", "Portfolios", "Live", "Models", "API docs", "Log out"):
        assert label in nav
    # The stylesheet loaded (served by WhiteNoise from the static folder).
    assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).display") == "flex"
    screenshot("shell")

    page.click("text=Log out")
    page.wait_for_url(f"{live_server.url}/accounts/login/")


def test_wrong_password_shows_an_error(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "did not match" in page.inner_text("[role=alert]")
