import pytest

from a1site.audit.models import AuditEvent
from a1site.audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(staff_user):
    return audit_record(
        actor=staff_user,
        action="bankroll.change",
        object_type="portfolio",
        object_id=7,
        before={"bankroll": 100},
        after={"bankroll": 120},
    )


def test_audit_record_keeps_who_what_and_the_request_id(client, staff_user):
    client.force_login(staff_user)
    from tests.a1site.factories import register_version

    register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")
    response = client.post(f"/models/{second.pk}/activate/", HTTP_X_REQUEST_ID="req-abc-123")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="model_version.activate", object_id=str(second.pk))
    assert event.request_id == "req-abc-123"
    assert event.actor_username == "staff"


def test_audit_log_cannot_be_changed_or_deleted_in_the_admin(client, staff_user, event):
    client.force_login(staff_user)
    url = f"/admin/audit/auditevent/{event.pk}/change/"
    assert client.get(url).status_code == 200  # viewable, read only
    response = client.post(url, {"action": "tampered"})
    assert response.status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    bulk = client.post("/admin/audit/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk]})
    assert bulk.status_code in (200, 302)
    event.refresh_from_db()
    assert event.action == "bankroll.change"
    assert AuditEvent.objects.count() == 1


def test_audit_log_is_read_only_in_the_api(staff_client, event):
    listing = staff_client.get("/api/audit-events/", {"action": "bankroll.change"})
    assert listing.status_code == 200
    assert listing.json()["results"][0]["after"] == {"bankroll": 120}
    detail_url = f"/api/audit-events/{event.pk}/"
    for method in ("put", "patch", "delete"):
        assert getattr(staff_client, method)(detail_url, {"action": "x"}, format="json").status_code == 405
    assert staff_client.post("/api/audit-events/", {"action": "x"}, format="json").status_code == 405
    event.refresh_from_db()
    assert event.action == "bankroll.change"


def test_plain_users_cannot_read_the_audit_log(user_client, event):
    assert user_client.get("/api/audit-events/").status_code == 403
