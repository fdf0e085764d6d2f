"""The admin changes serving state only through audited services; pages query in constant counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from a1site.audit.models import AuditEvent
from predictions import grading
from predictions.models import DriftWarning, EnsembleWeights, Prediction, ShadowModel

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [ShadowModel, EnsembleWeights, DriftWarning, Prediction])
def test_serving_state_rows_cannot_be_deleted_or_edited_in_the_admin(
    model, served, register_models, client, staff_user
):
    """A delete there would skip the audit row and the reload signal of the services."""
    challenger = register_models()
    grading.shadow_start(version_id=challenger.pk)
    EnsembleWeights.objects.create(model_version=served["version"], weights={"xgboost": 0.5, "torch": 0.5})
    DriftWarning.objects.create(
        model_version=served["version"], live_log_loss=0.8, validation_log_loss=0.6, margin=0.1, n_graded=300
    )
    game = served["upcoming"][0]
    player = next(p for p in served["players"] if p.team_id == game.home_team_id)
    client.force_login(staff_user)
    prop = {"sport": "nba", "stat": "points", "player": player.pk, "game": game.pk, "line": 9.5}
    assert client.post("/api/predictions/", prop, content_type="application/json").status_code == 201
    row = model.objects.first()
    assert row is not None
    base = f"/admin/predictions/{model._meta.model_name}/"
    assert client.get(base).status_code == 200
    assert client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{base}{row.pk}/change/", {}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_stopping_a_shadow_from_the_admin_goes_through_the_audited_service(
    served, register_models, client, staff_user, django_capture_on_commit_callbacks
):
    challenger = register_models()
    grading.shadow_start(version_id=challenger.pk)
    shadow = ShadowModel.objects.get(model_version=challenger)
    client.force_login(staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/predictions/shadowmodel/", {"action": "stop_shadows", "_selected_action": [shadow.pk]}
        )

    assert response.status_code == 302
    assert not ShadowModel.objects.get(pk=shadow.pk).active
    assert AuditEvent.objects.filter(action="model_version.shadow_stop", object_id=str(challenger.pk)).exists()


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/models/", "/"])
def test_the_models_page_and_dashboard_query_as_often_with_many_versions_as_with_one(
    url, served, register_models, client, staff_user
):
    def add_shadow_with_weights():
        version = register_models()
        grading.shadow_start(version_id=version.pk)
        EnsembleWeights.objects.create(model_version=version, weights={"xgboost": 0.4, "torch": 0.6})

    client.force_login(staff_user)
    add_shadow_with_weights()
    _queries(client, url)  # warm the per-process caches (the session, the content types)
    with_two_versions = _queries(client, url)
    for _ in range(3):
        add_shadow_with_weights()
    assert _queries(client, url) == with_two_versions
