import pytest
from django.db import IntegrityError, transaction

from a1site.audit.models import AuditEvent
from a1site.core.errors import ApplicationError
from a1site.registry.models import ModelVersion
from a1site.registry.services import (
    ArtifactIntegrityError,
    model_version_activate,
    model_version_load_artifact,
    model_version_rollback,
    sha256_hex,
)
from tests.a1site.factories import register_version

pytestmark = pytest.mark.django_db

PRODUCTION = ModelVersion.Status.PRODUCTION


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_first_version_of_a_name_goes_to_production_and_later_ones_wait(staff_user):
    first = register_version(artifact=b"v1", user=staff_user)
    second = register_version(artifact=b"v2", user=staff_user)
    first.refresh_from_db()
    assert (first.version, first.status) == (1, PRODUCTION)
    assert (second.version, second.status) == (2, ModelVersion.Status.CANDIDATE)
    assert first.activated_by == staff_user


def test_activation_archives_previous_production_version_and_is_audited(staff_user):
    first = register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")

    model_version_activate(version_id=second.pk, user=staff_user, reason="better log loss")

    statuses = dict(ModelVersion.objects.filter(name=first.name).values_list("version", "status"))
    assert statuses == {1: ModelVersion.Status.ARCHIVED, 2: PRODUCTION}
    assert ModelVersion.objects.filter(name=first.name, status=PRODUCTION).count() == 1
    event = AuditEvent.objects.filter(action="model_version.activate", object_id=str(second.pk)).get()
    assert event.actor == staff_user and event.actor_username == "staff"
    assert event.before == {
        "production": [{"name": first.name, "version": 1, "status": "production", "artifact_sha256": sha256_hex(b"v1")}]
    }
    assert event.after["version"] == 2 and event.details == {"reason": "better log loss"}


def test_other_names_are_untouched_by_an_activation(staff_user):
    other = register_version(name="nba.rebounds.xgboost", artifact=b"r1")
    register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")
    model_version_activate(version_id=second.pk, user=staff_user)
    other.refresh_from_db()
    assert other.status == PRODUCTION


def test_database_refuses_two_production_versions_of_one_name():
    register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(status=PRODUCTION)


def test_rollback_reactivates_the_previous_production_version(staff_user):
    first = register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")
    model_version_activate(version_id=second.pk, user=staff_user)

    restored = model_version_rollback(name=first.name, user=staff_user)

    assert restored.pk == first.pk and restored.status == PRODUCTION
    second.refresh_from_db()
    assert second.status == ModelVersion.Status.ARCHIVED
    assert AuditEvent.objects.filter(action="model_version.activate", details__reason="rollback from v2").exists()


def test_rollback_without_an_earlier_version_is_a_clear_error(staff_user):
    version = register_version(artifact=b"v1")
    with pytest.raises(ApplicationError) as error:
        model_version_rollback(name=version.name, user=staff_user)
    assert error.value.code == "no_previous_version"


def test_artifact_round_trips_with_its_sha256():
    version = register_version(artifact=b"\x00model\xffbytes")
    assert version.artifact_sha256 == sha256_hex(b"\x00model\xffbytes")
    assert model_version_load_artifact(version=version) == b"\x00model\xffbytes"


def test_tampered_artifact_is_refused():
    version = register_version(artifact=b"original")
    with open(version.artifact.path, "wb") as handle:
        handle.write(b"tampered")
    with pytest.raises(ArtifactIntegrityError) as error:
        model_version_load_artifact(version=version)
    assert error.value.code == "artifact_tampered"
    assert "does not match its sha256" in error.value.message


def test_missing_artifact_is_refused():
    version = register_version(artifact=b"original")
    version.artifact.storage.delete(version.artifact.name)
    with pytest.raises(ArtifactIntegrityError) as error:
        model_version_load_artifact(version=version)
    assert error.value.code == "artifact_missing"


def test_registration_is_audited_with_its_metrics(staff_user):
    version = register_version(artifact=b"v1", user=staff_user, metrics={"log_loss": 0.61})
    event = AuditEvent.objects.get(action="model_version.register", object_id=str(version.pk))
    assert event.details == {"metrics": {"log_loss": 0.61}}
    assert event.actor == staff_user


def test_unknown_kind_is_rejected_and_nothing_is_written():
    with pytest.raises(ApplicationError) as error:
        register_version(name="nba.points.lightgbm")
    assert error.value.fields == {"kind": ["Unknown kind."]}
    assert not ModelVersion.objects.exists()


# --- API ---------------------------------------------------------------------------------


def test_non_staff_user_cannot_activate_a_model(user_client):
    register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")
    response = user_client.post(f"/api/model-versions/{second.pk}/activate/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    second.refresh_from_db()
    assert second.status == ModelVersion.Status.CANDIDATE


def test_staff_activates_and_rolls_back_through_the_api(staff_client):
    first = register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")
    response = staff_client.post(f"/api/model-versions/{second.pk}/activate/")
    assert response.status_code == 200 and response.json()["status"] == "production"
    response = staff_client.post(f"/api/model-versions/{second.pk}/rollback/")
    assert response.status_code == 200 and response.json()["id"] == first.pk


def test_signed_in_users_read_the_registry(user_client, django_assert_max_num_queries):
    for index in range(5):
        register_version(name=f"nba.stat{index}.xgboost", artifact=f"a{index}".encode())
    with django_assert_max_num_queries(4):
        response = user_client.get("/api/model-versions/")
    assert response.status_code == 200
    assert response.json()["count"] == 5


# --- admin and page ----------------------------------------------------------------------


def test_admin_activate_action(client, staff_user):
    register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")
    client.force_login(staff_user)
    response = client.post(
        "/admin/registry/modelversion/",
        {"action": "activate_selected", "_selected_action": [second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    second.refresh_from_db()
    assert second.status == PRODUCTION
    assert AuditEvent.objects.filter(action="model_version.activate", actor=staff_user).exists()


def test_models_page_lists_versions_and_staff_actions(client, staff_user, user):
    version = register_version(artifact=b"v1", metrics={"log_loss": 0.6123})
    register_version(artifact=b"v2")
    client.force_login(user)
    page = client.get("/models/").content.decode()
    assert version.name in page and "0.6123" in page and "Activate" not in page
    client.force_login(staff_user)
    page = client.get("/models/").content.decode()
    assert "Activate" in page and "Roll back" in page


def test_non_staff_cannot_activate_from_the_models_page(client, user):
    register_version(artifact=b"v1")
    second = register_version(artifact=b"v2")
    client.force_login(user)
    client.post(f"/models/{second.pk}/activate/")
    second.refresh_from_db()
    assert second.status == ModelVersion.Status.CANDIDATE
