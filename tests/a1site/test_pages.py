import pytest

pytestmark = pytest.mark.django_db


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_dashboard_needs_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_user_logs_in_and_sees_the_shell(client, user, password):
    response = client.post("/accounts/login/", {"username": "alice", "password": password}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    for label in ("Dashboard", "Predictions", "Portfolios", "Live", "Models", "API docs", "Log out"):
        assert label in page
    assert 'data-testid="current-user">alice<' in page


def test_logout_ends_the_session(client, user):
    client.force_login(user)
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_plain_users_cannot_open_the_admin(client, user):
    client.force_login(user)
    response = client.get("/admin/registry/modelversion/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_html_404_page(client, user):
    client.force_login(user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and b"Not found" in response.content
