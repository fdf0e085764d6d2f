"""Use cases of the predictions app, one module per use case:

- ``catalogue``: the Sport rows mirror the engine's catalogue;
- ``imports``: CSV/JSON imports of teams, players, games, stat lines, props and results;
- ``training``: datasets from the database, training, registering model versions;
- ``features``: feature rows of props, computed once and stored;
- ``predicting``: one prop or ten thousand, scored by the in-process inference service;
- ``slates``: every priced prop of a day, scored and stored in one pass.

Reads shared by several places are in ``predictions.selectors``; bulk SQL in
``predictions.writes``. Other apps use the names re-exported here.
"""

from .catalogue import sports_sync_catalogue
from .features import (
    feature_row_from_history,
    feature_rows_for_seasons,
    feature_rows_from_logs,
    prop_features_get,
    prop_features_store,
)
from .imports import ImportRejected, ImportReport, data_import
from .predicting import (
    PREDICTION_BATCH_LIMIT,
    PropRequest,
    prediction_create,
    prediction_distribution,
    predictions_batch,
    predictions_create,
    serving_caches_clear,
)
from .slates import slate_predict
from .training import (
    MEMBER_KINDS,
    dataset_build,
    model_name,
    model_versions_register,
    models_train,
    models_train_job,
    models_train_start,
    production_model_load,
    training_plan,
)

__all__ = [
    "MEMBER_KINDS",
    "PREDICTION_BATCH_LIMIT",
    "ImportRejected",
    "ImportReport",
    "PropRequest",
    "data_import",
    "dataset_build",
    "feature_row_from_history",
    "feature_rows_for_seasons",
    "feature_rows_from_logs",
    "model_name",
    "model_versions_register",
    "models_train",
    "models_train_job",
    "models_train_start",
    "prediction_create",
    "prediction_distribution",
    "predictions_batch",
    "predictions_create",
    "production_model_load",
    "prop_features_get",
    "prop_features_store",
    "serving_caches_clear",
    "slate_predict",
    "sports_sync_catalogue",
    "training_plan",
]
