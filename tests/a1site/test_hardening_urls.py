"""Ids in URLs that cannot be a row answer 404 in the error shape, never 500."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999", "1.5", "-1"])
@pytest.mark.parametrize("action", ["activate", "rollback"])
def test_activating_a_model_version_that_cannot_exist_is_a_404(staff_client, pk, action):
    response = staff_client.post(f"/api/model-versions/{pk}/{action}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/model-versions/{pk}/", "/api/audit-events/{pk}/", "/api/players/{pk}/", "/api/jobs/{pk}/"]
)
@pytest.mark.parametrize("pk", ["abc", "9223372036854775808", "%F0%9F%8F%80"])
def test_reading_a_row_by_an_id_that_cannot_exist_is_a_404(staff_client, path, pk):
    response = staff_client.get(path.format(pk=pk))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
