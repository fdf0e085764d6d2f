"""Exact SHAP values for each ensemble member, in the member's own output space.

- XGBoost: TreeSHAP (tree path-dependent) through the booster's own ``pred_contribs``;
  bench/explain.py measures it against ``shap.TreeExplainer`` (the same values, max
  difference 0; the same speed on one thread), and the tests check the equality. Output
  space: the margin, i.e. the log mean for counts (count:poisson) and the mean itself for
  yardage (reg:squarederror). Pairwise interactions come from ``pred_interactions``.
- PyTorch: ``shap.DeepExplainer`` (DeepLIFT rescale with a background sample; additive, unlike
  GradientExplainer, FACTS.md) on the network's log-mean output, with the standardised
  features as inputs (standardisation is one-to-one per feature, so the attributions belong
  to the raw features unchanged).
- An offset feature (the MLB season models' Marcel count, engine.models) enters the log mean
  as log(offset) outside the trees and the network: it is a function of that one feature, so
  its exact Shapley value against the background is log(offset(x)) minus its background
  mean, added to that feature; the base gains the background mean.

Every member's values satisfy base + sum(values) = output up to the measured
``additivity_error`` (|base + sum - the member's actual output|), which is reported, never
assumed. The output is the member's mean as predictions.serving serves it: the booster's own
prediction (from the DMatrix its TreeSHAP call reads, so the rows are converted once) and the
network's numpy forward (engine.fast_pricing), never a sum of the values themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictions.engine import models as engine_models
from predictions.engine.fast_pricing import NumpyMLP, torch_params
from predictions.engine.models import DistParams

# How many background rows DeepExplainer averages over: 100 gives ~5 ms a row (FACTS.md);
# the explanation's cost grows linearly with it.
DEEP_BACKGROUND_ROWS = 100


@dataclass(frozen=True)
class MemberValues:
    """SHAP values of one member for a batch of rows, in its output space ``link``:
    "log" (log mean) or "identity" (the mean in stat units)."""

    kind: str
    link: str
    base: np.ndarray  # (n,)
    values: np.ndarray  # (n, n_features)
    output: np.ndarray  # (n,) the member's actual output in that space
    additivity_error: np.ndarray  # (n,)


def member_link(member) -> str:
    if member.kind == "xgboost" and member.family != "negbin":
        return "identity"
    return "log"


def _single_thread() -> None:
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


class _LogMeanHead:
    """The network's first output (log mean before any offset) as a torch module."""

    def __new__(cls, network):
        import torch

        class Head(torch.nn.Module):
            def __init__(self, net):
                super().__init__()
                self.net = net

            def forward(self, x):
                return self.net(x)[:, :1]

        return Head(network).eval()


class MemberExplainer:
    """Explains one member; built once per model version and background sample."""

    def __init__(self, member, background: np.ndarray):
        self.member = member
        self.kind = member.kind
        self.link = member_link(member)
        self.schema = member.schema
        self.names = list(member.schema.names)
        background = np.asarray(background, np.float64)
        if background.ndim != 2 or background.shape[1] != len(member.schema.names):
            raise ValueError(
                f"background has shape {background.shape}; the model has {len(member.schema.names)} features"
            )
        self.offset_index = None if member.offset_feature is None else member.schema.names.index(member.offset_feature)
        self.offset_base = 0.0
        if self.offset_index is not None:
            self.offset_base = float(np.mean(self.log_offset(background)))
        if self.kind == "xgboost":
            import xgboost as xgb

            self._xgb = xgb
            self.booster = member.booster
            self.booster.set_param({"nthread": 1})
        elif self.kind == "torch":
            import shap
            import torch

            _single_thread()
            self._torch = torch
            rows = background[:DEEP_BACKGROUND_ROWS]
            self.network = member.network.to("cpu").eval()
            self.deep = shap.DeepExplainer(_LogMeanHead(self.network), torch.from_numpy(member._standardise(rows)))
            self.deep_base = float(np.asarray(self.deep.expected_value).ravel()[0])
            self._mlp = NumpyMLP(member.numpy_layers())
        else:
            raise ValueError(f"no exact explainer for member kind {self.kind!r}")

    def log_offset(self, X: np.ndarray) -> np.ndarray:
        return engine_models.log_offset(X, self.schema, self.member.offset_feature)

    def _matrix(self, X: np.ndarray):
        log_offset = None if self.offset_index is None else self.log_offset(X)
        return self._xgb.DMatrix(X, feature_names=self.names, nthread=1, base_margin=log_offset), log_offset

    def served_params(self, X: np.ndarray) -> DistParams:
        """The member's mean and dispersion for rows ``X`` as serving computes them
        (predictions.serving: the booster's prediction, the network's numpy forward)."""
        X = np.asarray(X, np.float64)
        if self.kind == "xgboost":
            return self.member.predict_params(X)
        return DistParams(*torch_params(self.member, self._mlp, X))

    def explain_served(self, X: np.ndarray) -> tuple[MemberValues, DistParams]:
        """The member's SHAP values for rows ``X`` and its served parameters (``served_params``)
        in one pass: the tree member predicts its mean from the DMatrix its TreeSHAP reads."""
        X = np.asarray(X, np.float64)
        if self.kind == "xgboost":
            matrix, log_offset = self._matrix(X)
            values, base = self._tree_values(matrix, log_offset)
            # The contributions' call has checked this matrix's feature names.
            mean = self.member.predict_mean_matrix(matrix, validate_features=False)
            params = DistParams(mean=mean, dispersion=np.full_like(mean, self.member.dispersion))
        else:
            params = self.served_params(X)
            values, base = self._network_values(X)
        return self._member_values(values, base, params.mean), params

    def explain(self, X: np.ndarray, served_mean: np.ndarray | None = None) -> MemberValues:
        """The member's SHAP values for rows ``X``. The output they must add up to is the
        served mean in the member's space (its log for the log link), from ``served_mean``
        when the caller has it or from ``served_params``; the served mean is clipped and
        floored as engine.models serves it, and such a row shows its gap as additivity error."""
        X = np.asarray(X, np.float64)
        if served_mean is None:
            return self.explain_served(X)[0]
        if self.kind == "xgboost":
            values, base = self._tree_values(*self._matrix(X))
        else:
            values, base = self._network_values(X)
        return self._member_values(values, base, served_mean)

    def _tree_values(self, matrix, log_offset) -> tuple[np.ndarray, np.ndarray]:
        contributions = self.booster.predict(matrix, pred_contribs=True).astype(np.float64)
        values, base = contributions[:, :-1], contributions[:, -1]
        if log_offset is not None:
            # XGBoost folds the base margin into the bias column; give it to its feature.
            base = base - log_offset + self.offset_base
            values[:, self.offset_index] += log_offset - self.offset_base
        return values, base

    def _network_values(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _single_thread()
        inputs = self._torch.from_numpy(self.member._standardise(X))
        values = np.asarray(self.deep.shap_values(inputs, check_additivity=False), np.float64)
        values = values.reshape(len(X), -1)
        base = np.full(len(X), self.deep_base)
        if self.offset_index is not None:
            log_offset = self.log_offset(X)
            values[:, self.offset_index] += log_offset - self.offset_base
            base = base + self.offset_base
        return values, base

    def _member_values(self, values: np.ndarray, base: np.ndarray, served_mean) -> MemberValues:
        served_mean = np.asarray(served_mean, np.float64)
        output = np.log(served_mean) if self.link == "log" else served_mean
        error = np.abs(base + values.sum(axis=1) - output)
        return MemberValues(self.kind, self.link, base, values, output, error)

    def interactions(self, X: np.ndarray) -> np.ndarray | None:
        """SHAP interaction values (n, f, f) of the tree member in its margin space; None for
        the network (DeepExplainer has none)."""
        if self.kind != "xgboost":
            return None
        matrix, _ = self._matrix(np.asarray(X, np.float64))
        return self.booster.predict(matrix, pred_interactions=True)[:, :-1, :-1].astype(np.float64)
