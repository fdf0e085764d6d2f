"""Distribution models for one sport and stat: XGBoost, a PyTorch MLP, and their ensemble.

Each model predicts a full distribution of the stat (engine.distributions: mean plus a
dispersion) rather than a point, so it can price any line: ``predict_proba(X, lines)`` gives
(p_over, p_under, p_push, mean). Every model also carries a ``line_temperature``
(engine.calibration), fitted on the validation period's book props by ``calibrate_lines``
and stored in its artifact, so serving prices lines exactly as the evaluation did. Models
carry the FeatureSchema they were trained with and refuse feature matrices of another width,
and artifacts built on another schema (``from_bytes(..., expected_schema=...)``).

Threads: training and inference pin XGBoost to ``nthread=1`` and torch to one thread; on
the shared 2-core machines A1 scales with processes (docs/performance.md).

Devices: the PyTorch member trains and predicts on CUDA when it is available
(``select_device``; ``TorchConfig.device`` and ``load_model(device=...)`` choose), and its
artifact holds CPU tensors, so a network trained on a GPU loads anywhere (bench/cuda.py
measures both devices). The XGBoost member always runs on the CPU.

The package, by member: ``base`` (what every model shares: the prediction types, feature and
offset checks, the predictive median), ``xgboost_member``, ``torch_member`` and ``ensemble``
(the mixture, its stacking and live weights, and ``load_model``). Import from the package.
"""

from .base import (
    LOG_DISPERSION_RANGE,
    LOG_MEAN_RANGE,
    DistParams,
    MixtureParams,
    PropProbabilities,
    log_offset,
    median_bracket,
    predictive_median,
)
from .ensemble import (
    STACKING_PRIOR,
    Ensemble,
    ewm_update,
    load_model,
    mixture_log_score,
    stacking_weights,
    update_weights,
)
from .torch_member import (
    TorchConfig,
    TorchDistModel,
    select_device,
)
from .xgboost_member import (
    XGBoostConfig,
    XGBoostDistModel,
)

__all__ = [
    "LOG_DISPERSION_RANGE",
    "LOG_MEAN_RANGE",
    "log_offset",
    "DistParams",
    "Ensemble",
    "MixtureParams",
    "PropProbabilities",
    "STACKING_PRIOR",
    "TorchConfig",
    "TorchDistModel",
    "XGBoostConfig",
    "XGBoostDistModel",
    "ewm_update",
    "load_model",
    "median_bracket",
    "mixture_log_score",
    "predictive_median",
    "select_device",
    "stacking_weights",
    "update_weights",
]
