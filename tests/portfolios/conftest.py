"""The predictions app's mini league and quick models, for the slate, rebalance and backtest
tests (``served``: a predicted-ready league with NBA points models in production)."""

from tests.predictions.conftest import (  # noqa: F401 - fixtures
    _fresh_inference_service,
    _media,
    mini_league,
    nba_points_training,
    register_models,
    served,
)
