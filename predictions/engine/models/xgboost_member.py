"""The XGBoost member: a boosted mean plus one dispersion fitted on the validation rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictions.engine import artifacts
from predictions.engine.distributions import fit_dispersion
from predictions.engine.features import FeatureSchema
from predictions.engine.models.base import (
    LOG_MEAN_RANGE,
    DistParams,
    _adjusted_log_offset,
    _as_matrix,
    _check_kind,
    _check_offset,
    _DistModel,
    log_offset,
)


@dataclass(frozen=True)
class XGBoostConfig:
    n_estimators: int = 300
    max_depth: int = 5
    learning_rate: float = 0.05
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 5.0
    early_stopping_rounds: int = 30


class XGBoostDistModel(_DistModel):
    """XGBoost for the mean (Poisson objective with a log link for counts, squared error for
    yardage) plus one dispersion fitted by maximum likelihood on the validation rows.

    With ``offset_feature`` (counts only) the log of that feature is the trees' base margin,
    so mean = offset x exp(trees): the trees learn a multiplicative correction to a baseline
    projection (XGBoost's exposure offset for count:poisson)."""

    kind = "xgboost"

    def __init__(
        self,
        *,
        sport: str,
        stat: str,
        family: str,
        schema: FeatureSchema,
        booster,
        dispersion: float,
        line_temperature: float = 1.0,
        offset_feature: str | None = None,
    ):
        _check_offset(family, schema, offset_feature)
        self.sport, self.stat, self.family, self.schema = sport, stat, family, schema
        self.offset_feature = offset_feature
        self.booster = booster
        self.dispersion = float(dispersion)
        self.line_temperature = float(line_temperature)

    @classmethod
    def fit(
        cls,
        X_train,
        y_train,
        X_val,
        y_val,
        *,
        sport: str,
        stat: str,
        family: str,
        schema: FeatureSchema,
        seed: int,
        config: XGBoostConfig = XGBoostConfig(),
        offset_feature: str | None = None,
        train_offset_adjustment=None,
        validation_offset_adjustment=None,
    ) -> XGBoostDistModel:
        import xgboost as xgb

        _check_offset(family, schema, offset_feature)
        X_train, X_val = _as_matrix(X_train, schema), _as_matrix(X_val, schema)
        params = {
            "objective": "count:poisson" if family == "negbin" else "reg:squarederror",
            "eta": config.learning_rate,
            "max_depth": config.max_depth,
            "subsample": config.subsample,
            "colsample_bytree": config.colsample_bytree,
            "min_child_weight": config.min_child_weight,
            "nthread": 1,
            "seed": seed,
            "tree_method": "hist",
        }
        train = xgb.DMatrix(
            X_train,
            label=y_train,
            feature_names=list(schema.names),
            nthread=1,
            base_margin=_adjusted_log_offset(X_train, schema, offset_feature, train_offset_adjustment),
        )
        validation = xgb.DMatrix(
            X_val,
            label=y_val,
            feature_names=list(schema.names),
            nthread=1,
            base_margin=_adjusted_log_offset(X_val, schema, offset_feature, validation_offset_adjustment),
        )
        booster = xgb.train(
            params,
            train,
            num_boost_round=config.n_estimators,
            evals=[(validation, "validation")],
            early_stopping_rounds=config.early_stopping_rounds,
            verbose_eval=False,
        )
        booster = booster[: booster.best_iteration + 1]
        model = cls(
            sport=sport,
            stat=stat,
            family=family,
            schema=schema,
            booster=booster,
            dispersion=1.0,
            offset_feature=offset_feature,
        )
        model.dispersion = fit_dispersion(family, model._predict_mean(X_val), y_val)
        return model

    def _predict_mean(self, X: np.ndarray) -> np.ndarray:
        row_offset = log_offset(X, self.schema, self.offset_feature)
        if row_offset is None:
            return self._served_mean(self.booster.inplace_predict(X))
        return self._served_mean(self.booster.inplace_predict(X, base_margin=row_offset, predict_type="margin"))

    def predict_mean_matrix(self, matrix, *, validate_features: bool = True) -> np.ndarray:
        """``predict_params(X).mean`` for rows already in a DMatrix (with their log offset as
        its base margin, as ``fit`` builds it), for a caller that asks the booster something
        else of the same rows and builds the matrix once (explanations' TreeSHAP); that
        caller may skip XGBoost's feature-name check (``validate_features``) when its other
        call already made it on this matrix. ``Booster.predict`` on a DMatrix gives
        ``inplace_predict``'s values bit for bit."""
        prediction = self.booster.predict(
            matrix, output_margin=self.offset_feature is not None, validate_features=validate_features
        )
        return self._served_mean(prediction)

    def _served_mean(self, prediction) -> np.ndarray:
        """The booster's output as the served mean: with an offset the output is the margin
        (log mean), clipped to the engine's range before its exp; floored at 1e-6."""
        mean = np.asarray(prediction, dtype=np.float64)
        if self.offset_feature is not None:
            mean = np.exp(np.clip(mean, *LOG_MEAN_RANGE))
        return np.maximum(mean, 1e-6)

    def predict_params(self, X) -> DistParams:
        X = _as_matrix(X, self.schema)
        mean = self._predict_mean(X)
        return DistParams(mean=mean, dispersion=np.full_like(mean, self.dispersion))

    def feature_importance(self) -> dict[str, float]:
        """Total gain per feature (features never split on get 0)."""
        gains = self.booster.get_score(importance_type="total_gain")
        return {name: float(gains.get(name, 0.0)) for name in self.schema.names}

    def to_bytes(self) -> bytes:
        metadata = {**self._base_metadata(), "dispersion": self.dispersion}
        return artifacts.pack(metadata, {"model.ubj": bytes(self.booster.save_raw(raw_format="ubj"))})

    @classmethod
    def from_bytes(
        cls, artifact: bytes, *, expected_schema: FeatureSchema | None = None, device: str | None = None
    ) -> XGBoostDistModel:
        """``device`` is accepted for a uniform ``load_model``; the booster runs on the CPU."""
        metadata, files = artifacts.unpack(artifact)
        return cls._from_parts(metadata, files, expected_schema)

    @classmethod
    def _from_parts(cls, metadata, files, expected_schema) -> XGBoostDistModel:
        import xgboost as xgb

        schema = _check_kind(metadata, cls.kind, expected_schema)
        booster = xgb.Booster(params={"nthread": 1})
        booster.load_model(bytearray(files["model.ubj"]))
        return cls(
            sport=metadata["sport"],
            stat=metadata["stat"],
            family=metadata["family"],
            schema=schema,
            booster=booster,
            dispersion=metadata["dispersion"],
            line_temperature=metadata.get("line_temperature", 1.0),
            offset_feature=metadata.get("offset_feature"),
        )
