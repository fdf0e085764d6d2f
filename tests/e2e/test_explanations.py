"""A prediction's explanation on its detail page, in Chromium: the waterfall and reasons, the
what-if panel moving the price without a reload, and the detailed job's progress."""

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

# The fixtures above are parameters of the test below.
# ruff: noqa: F811

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_explanations():
    from explanations.services import explainers_clear, explanations_cache

    explanations_cache().clear()
    explainers_clear()
    yield
    explainers_clear()


def test_detail_page_shows_waterfall_reasons_and_what_if_moves_the_price(
    page,
    live_server,
    served,
    user,
    login,
    screenshot,  # noqa: F811
):
    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    prediction = Prediction.objects.order_by("-edge").first()
    login(user)

    page.goto(f"{live_server.url}/predictions/{prediction.pk}/")
    page.wait_for_selector('[data-testid="explanation"]')
    waterfall = page.locator('[data-testid="waterfall"]')
    waterfall.wait_for()
    # The image loaded (an SVG drawn by matplotlib from the explanation's numbers).
    page.wait_for_function("() => document.querySelector('[data-testid=waterfall]').naturalWidth > 0")
    reasons = page.locator('[data-testid="reasons"] li')
    assert reasons.count() == 6
    assert "points" in reasons.first.inner_text()
    assert "Quality" in page.inner_text('[data-testid="explanation-quality"]')
    screenshot("explanation_detail")

    marker = page.evaluate("() => { window.__noReload = 1; return window.__noReload; }")
    assert marker == 1
    page.select_option('[data-testid="what-if-feature"]', "points_last40")
    page.fill('[data-testid="what-if-value"]', "40")
    page.click('[data-testid="what-if-submit"]')
    page.wait_for_function("() => document.querySelector('[data-testid=what-if-p-over]').textContent !== '–'")
    new_p_over = float(page.inner_text('[data-testid="what-if-p-over"]'))
    change = float(page.inner_text('[data-testid="what-if-p-over-change"]'))
    assert new_p_over != pytest.approx(prediction.p_over, abs=1e-4)
    assert new_p_over - change == pytest.approx(prediction.p_over, abs=2e-4)
    assert "%" in page.inner_text('[data-testid="what-if-edge"]')
    # No reload: the page's own state survived the recomputation.
    assert page.evaluate("() => window.__noReload") == 1
    screenshot("explanation_what_if")

    page.click('[data-testid="detailed-button"]')
    page.wait_for_function(
        "() => document.querySelector('[data-testid=detailed-status]').textContent.startsWith('succeeded')",
        timeout=60_000,
    )
    page.wait_for_selector('[data-testid="detailed-result"] li')
    assert " × " in page.inner_text('[data-testid="detailed-result"]')
    screenshot("explanation_detailed")
