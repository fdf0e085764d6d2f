import pytest

from tests.predictions.conftest import (  # noqa: F401 - shared fixtures of the served mini league
    _fresh_inference_service,
    _media,
    mini_league,
    nba_points_training,
    register_models,
    served,
)

# ruff: noqa: F811


@pytest.fixture(autouse=True)
def _fresh_explanations():
    """No explanation or explainer leaks from one test into the next."""
    from explanations.services import explainers_clear, explanations_cache

    explanations_cache().clear()
    explainers_clear()
    yield
    explanations_cache().clear()
    explainers_clear()


@pytest.fixture
def slate(served):
    """The mini league's upcoming points props scored by the production ensemble."""
    from predictions import services
    from predictions.models import Prediction

    services.slate_predict(sport="nba", date=served["upcoming"][0].date)
    predictions = list(Prediction.objects.filter(prop_line__isnull=False).order_by("pk"))
    assert predictions
    return {**served, "predictions": predictions}
