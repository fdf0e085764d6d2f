"""The Predictions page and a prediction's detail with real rows, in Chromium."""

import pytest

from predictions import services
from predictions.models import Prediction
from tests.predictions.conftest import (  # noqa: F401 - fixtures
    _fresh_inference_service,
    _media,
    mini_league,
    nba_points_training,
    register_models,
    served,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_predictions_page_and_detail_render_real_rows(page, live_server, served, user, login, screenshot):  # noqa: F811
    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    best = Prediction.objects.order_by("-edge").first()
    login(user)

    page.goto(f"{live_server.url}/predictions/?sport=nba&sort=-edge")
    rows = page.locator('[data-testid="prop-row"]')
    assert rows.count() == 20
    first = rows.first.inner_text()
    assert best.player.name in first and "simulated" in first
    # All sixteen columns, edge included, fit a 1440-pixel window without scrolling sideways.
    page.set_viewport_size({"width": 1440, "height": 860})
    table = page.locator('[data-testid="props"]')
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth"), table.evaluate(
        "t => [t.scrollWidth, t.parentElement.clientWidth]"
    )
    screenshot("predictions")

    page.click('[data-testid="detail-link"] >> nth=0')
    page.wait_for_selector('[data-testid="distribution-chart"]')
    assert page.url.endswith(f"/predictions/{best.pk}/")
    assert "nba.points.ensemble v1" in page.inner_text('[data-testid="model-version"]')
    assert f"{best.edge * 100:.1f} %" in page.inner_text('[data-testid="edge"]')
    assert page.is_visible('[data-testid="simulated-label"]')
    assert page.locator('[data-testid="distribution-chart"] rect').count() > 10
    screenshot("prediction_detail")


def test_dashboard_and_models_page_show_predictions_sections(page, live_server, served, staff_user, login, screenshot):  # noqa: F811
    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    login(staff_user)
    assert page.is_visible('[data-testid="dashboard-predictions"]')
    assert "nba.points.ensemble" in page.inner_text('[data-testid="model-health"]')
    # Every column of Model health fits its half of a 1440-pixel window (no sideways scroll).
    page.set_viewport_size({"width": 1440, "height": 860})
    health = page.locator('[data-testid="model-health"]')
    assert health.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth"), health.evaluate(
        "t => [t.scrollWidth, t.parentElement.clientWidth]"
    )
    assert health.evaluate("t => t.getBoundingClientRect().right <= t.closest('.card').getBoundingClientRect().right")
    screenshot("dashboard_1440")
    page.goto(f"{live_server.url}/models/")
    assert page.is_visible('[data-testid="live-performance"]')
    assert page.is_visible('[data-testid="champion-challenger"]')
    screenshot("models_live")
