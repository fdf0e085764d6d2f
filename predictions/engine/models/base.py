"""What every distribution model shares: the prediction types, the feature matrix and offset
checks, the predictive median, and ``_DistModel`` (pricing lines from ``predict_params``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from predictions.engine.calibration import fit_line_temperature, temper
from predictions.engine.distributions import log_pmf, normal_sigma, prob_over_under_push
from predictions.engine.features import FeatureSchema


class PropProbabilities(NamedTuple):
    p_over: np.ndarray
    p_under: np.ndarray
    p_push: np.ndarray
    mean: np.ndarray


@dataclass(frozen=True)
class DistParams:
    mean: np.ndarray
    dispersion: np.ndarray


@dataclass(frozen=True)
class MixtureParams:
    """An ensemble's distribution: member ``k`` has weight ``weights[k]`` and parameters
    ``mean[:, k]``, ``dispersion[:, k]``."""

    weights: np.ndarray
    mean: np.ndarray
    dispersion: np.ndarray


def _as_matrix(X, schema: FeatureSchema) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2 or X.shape[1] != len(schema.names):
        raise ValueError(
            f"feature matrix has shape {X.shape}; the model's schema {schema.version} has "
            f"{len(schema.names)} features ({', '.join(schema.names[:3])}, ...)"
        )
    return X


# An offset feature below this is floored before its log: a projection of zero (no history)
# would otherwise send the log mean to minus infinity.
_MIN_OFFSET = 0.1


# log(alpha) and log(phi) are kept in a range where the likelihood stays finite.
LOG_DISPERSION_RANGE = (-9.0, 6.0)
LOG_MEAN_RANGE = (-10.0, 12.0)


def log_offset(X: np.ndarray, schema: FeatureSchema, offset_feature: str | None) -> np.ndarray | None:
    """log of the offset column (a baseline count such as Marcel's), or None without one.
    Missing values become the floor, so a row without a baseline still gets a finite margin."""
    if offset_feature is None:
        return None
    column = X[:, schema.names.index(offset_feature)]
    return np.log(np.maximum(np.nan_to_num(column, nan=_MIN_OFFSET), _MIN_OFFSET))


def _adjusted_log_offset(X, schema, offset_feature, adjustment) -> np.ndarray | None:
    """The log offset plus a training-time ``adjustment`` (engine.training's
    ``training_offset_adjustment``); None when there is neither."""
    row_offset = log_offset(X, schema, offset_feature)
    if adjustment is None:
        return row_offset
    if row_offset is None:
        raise ValueError("an offset adjustment needs an offset feature")
    adjustment = np.asarray(adjustment, np.float64)
    if adjustment.shape != row_offset.shape:
        raise ValueError(f"offset adjustment has shape {adjustment.shape}, the rows {row_offset.shape}")
    return row_offset + adjustment


def _check_offset(family: str, schema: FeatureSchema, offset_feature: str | None) -> None:
    if offset_feature is None:
        return
    if family != "negbin":
        raise ValueError(f"an offset needs the log link of the negbin family, not {family!r}")
    if offset_feature not in schema.names:
        raise ValueError(f"offset feature {offset_feature!r} is not in the schema {schema.version}")


def predictive_median(price_over, lower, upper) -> np.ndarray:
    """The median of an integer-valued predictive distribution, read off its prices: the
    smallest integer k with P(X <= k) >= 1/2, i.e. P(over k + 0.5) <= 1/2.

    ``price_over(lines)`` returns P(over) at one half line per row (half lines never push);
    ``lower`` and ``upper`` bracket the median per row (P(over lower + 0.5) > 1/2 and
    P(over upper + 0.5) <= 1/2). Bisection on the integers, so about log2(upper - lower)
    calls. Why the median: it is the point forecast that minimises the expected absolute
    error (the MAE) under the distribution, where the mean minimises the squared error; and it
    is the line the model itself prices at even odds. The line temperature (engine.calibration)
    applies only at a line a book priced, so it never moves the median."""
    low = np.floor(np.asarray(lower, np.float64))
    high = np.ceil(np.asarray(upper, np.float64))
    while np.any(high - low > 1):
        middle = np.floor((low + high) / 2)
        over_half = np.asarray(price_over(middle + 0.5), np.float64) > 0.5
        searching = high - low > 1
        low = np.where(searching & over_half, middle, low)
        high = np.where(searching & ~over_half, middle, high)
    return high


def median_bracket(family: str, mean: np.ndarray, dispersion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integers bracketing the median: ten standard deviations either side of the mean
    (Chebyshev puts at most 1 % of the mass beyond), and never below -1 for counts."""
    mean = np.asarray(mean, np.float64)
    if family == "negbin":
        spread = np.sqrt(mean + np.asarray(dispersion, np.float64) * mean**2)
    else:
        spread = normal_sigma(mean, dispersion)
    lower = np.floor(mean - 10.0 * spread) - 1.0
    if family == "negbin":
        lower = np.maximum(lower, -1.0)
    return lower, np.ceil(mean + 10.0 * spread) + 1.0


class _DistModel:
    kind = ""
    sport: str
    stat: str
    family: str
    schema: FeatureSchema
    line_temperature: float = 1.0
    offset_feature: str | None = None

    def predict_params(self, X) -> DistParams:
        raise NotImplementedError

    def predict_proba_uncalibrated(self, X, lines) -> PropProbabilities:
        """P(over/under/push) of the predictive distribution itself, before the line temperature."""
        params = self.predict_params(X)
        probabilities = prob_over_under_push(self.family, params.mean, params.dispersion, lines)
        return PropProbabilities(probabilities.p_over, probabilities.p_under, probabilities.p_push, params.mean)

    def predict_proba(self, X, lines, anchor=None) -> PropProbabilities:
        """Prices at ``lines``, pooled by the line temperature with ``anchor``, the book's
        de-vigged P(over | no push) at each line (engine.calibration); where it is None or
        NaN (no book priced the line) the model's own price."""
        raw = self.predict_proba_uncalibrated(X, lines)
        return PropProbabilities(*temper(raw.p_over, raw.p_under, raw.p_push, self.line_temperature, anchor), raw.mean)

    def calibrate_lines(self, X, lines, actual, anchor) -> float:
        """Fit and keep the line temperature on validation props (rows ``X`` with their book
        ``lines``, the book's de-vigged P(over | no push) ``anchor`` and settled ``actual``
        stats); returns it."""
        raw = self.predict_proba_uncalibrated(X, lines)
        self.line_temperature = fit_line_temperature(raw.p_over, raw.p_under, actual, lines, anchor=anchor)
        return self.line_temperature

    def predict_median(self, X) -> np.ndarray:
        """The predictive distribution's median per row (``predictive_median``): the point
        forecast for absolute error."""
        params = self.predict_params(X)
        lower, upper = median_bracket(self.family, params.mean, params.dispersion)
        return predictive_median(
            lambda lines: prob_over_under_push(self.family, params.mean, params.dispersion, lines).p_over, lower, upper
        )

    def log_pmf(self, X, y) -> np.ndarray:
        params = self.predict_params(X)
        return log_pmf(self.family, params.mean, params.dispersion, y)

    def _base_metadata(self) -> dict:
        return {
            "kind": self.kind,
            "sport": self.sport,
            "stat": self.stat,
            "family": self.family,
            "schema": self.schema.to_dict(),
            "line_temperature": self.line_temperature,
            "offset_feature": self.offset_feature,
        }


def _check_kind(metadata: dict, kind: str, expected_schema: FeatureSchema | None) -> FeatureSchema:
    if metadata.get("kind") != kind:
        raise ValueError(f"artifact holds a {metadata.get('kind')!r} model, not {kind!r}")
    schema = FeatureSchema.from_dict(metadata["schema"])
    if expected_schema is not None:
        expected_schema.check(schema)
    return schema
