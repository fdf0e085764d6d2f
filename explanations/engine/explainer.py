"""One ensemble version's explainer: both outputs for a batch of rows, and the levels.

Built once per model version (and live weights) with its background sample (``background``:
float64 rows of the training data, stored with the version); explaining a batch costs one
TreeSHAP call and one DeepExplainer call plus a vectorised combination (engine.combine).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import combine, quality
from .labels import label_for, reason, stat_unit
from .shapley import MemberExplainer, MemberValues

LEVELS = ("fast", "standard", "detailed", "comprehensive")
# Resampled backgrounds per explanation for the detailed levels' stability figure.
STABILITY_RESAMPLES = 2
# Points of a what-if curve: the background's 5th to 95th percentiles.
CURVE_POINTS = 11
TOP_INTERACTIONS = 10


@dataclass(frozen=True)
class BatchExplanation:
    members: list[MemberValues]
    weights: np.ndarray
    mean: combine.OutputExplanation
    p_over: combine.OutputExplanation
    X: np.ndarray
    lines: np.ndarray
    anchors: np.ndarray | None


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    return level


class EnsembleExplainer:
    def __init__(self, ensemble, background: np.ndarray, *, stability: float | None = None):
        background = np.asarray(background, np.float64)
        self.ensemble = ensemble
        self.schema = ensemble.schema
        self.names = list(ensemble.schema.names)
        self.background = background
        self.weights = np.asarray(ensemble.weights, np.float64)
        self.pricing = combine.Pricing.of(ensemble)
        self.members = [MemberExplainer(member, background) for member in ensemble.members]
        # Typical value per feature (the background's median) for the reasons' comparisons.
        with np.errstate(all="ignore"):
            self.typical = np.nanmedian(np.where(np.isfinite(background), background, np.nan), axis=0)
        self.sorted_background = np.sort(background, axis=0)
        self.stability = stability
        # DeepExplainer attaches hooks to the shared network while it runs: one call at a time
        # per explainer (processes run one thread each; this guards a threaded server).
        self._lock = threading.RLock()

    # --- the public calls, one at a time ---

    def member_params(self, X: np.ndarray):
        with self._lock:
            return self._member_params_unlocked(X)

    def predict(self, X: np.ndarray, lines, anchors=None):
        with self._lock:
            return self._predict_unlocked(X, lines, anchors)

    def explain(self, X, lines, anchors=None):
        with self._lock:
            return self._explain_unlocked(X, lines, anchors)

    def interactions(self, X):
        with self._lock:
            return self._interactions_unlocked(X)

    def resampled_stability(self, X, *, seed: int = 0, resamples: int = STABILITY_RESAMPLES):
        with self._lock:
            return self._resampled_stability_unlocked(X, seed=seed, resamples=resamples)

    # --- predictions ----------------------------------------------------------------------

    def _member_params_unlocked(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        params = [member.predict_params(X) for member in self.ensemble.members]
        return np.column_stack([p.mean for p in params]), np.column_stack([p.dispersion for p in params])

    def _predict_unlocked(self, X: np.ndarray, lines, anchors=None) -> dict[str, np.ndarray]:
        """mean and P(over/under/push) as serving prices them."""
        X = np.atleast_2d(np.asarray(X, np.float64))
        probabilities = self.ensemble.predict_proba(X, np.asarray(lines, np.float64), _anchor_vector(anchors, len(X)))
        return {
            "mean": probabilities.mean,
            "p_over": probabilities.p_over,
            "p_under": probabilities.p_under,
            "p_push": probabilities.p_push,
        }

    # --- explaining -----------------------------------------------------------------------

    def _explain_unlocked(self, X, lines, anchors=None) -> BatchExplanation:
        X = np.atleast_2d(np.asarray(X, np.float64))
        if X.shape[1] != len(self.names):
            raise ValueError(f"feature matrix has {X.shape[1]} columns; the model has {len(self.names)} features")
        lines = np.broadcast_to(np.asarray(lines, np.float64), (len(X),)).copy()
        anchors = _anchor_vector(anchors, len(X))
        member_means, member_dispersions = self.member_params(X)
        member_values = [explainer.explain(X, member_means[:, column]) for column, explainer in enumerate(self.members)]
        return self._combine(member_values, X, lines, anchors, member_means, member_dispersions)

    def _combine(self, member_values, X, lines, anchors, member_means, member_dispersions) -> BatchExplanation:
        base, values = combine.ensemble_mean(member_values, self.weights)
        served_mean = member_means @ self.weights
        mean = combine.OutputExplanation(
            "mean", base, values, served_mean, np.abs(base + values.sum(axis=1) - served_mean)
        )
        member_base_means = np.column_stack([combine.link_mean(m.link, m.base) for m in member_values])
        p_over = combine.p_over_explanation(
            self.pricing,
            member_means=member_means,
            member_base_means=member_base_means,
            member_dispersions=member_dispersions,
            mean_values=values,
            lines=lines,
            anchors=anchors,
        )
        return BatchExplanation(member_values, self.weights, mean, p_over, X, lines, anchors)

    def _interactions_unlocked(self, X) -> np.ndarray | None:
        for explainer in self.members:
            values = explainer.interactions(X)
            if values is not None:
                return values
        return None

    def percentiles(self, X) -> np.ndarray:
        """Each feature's percentile (0-100) among the stored training rows."""
        X = np.atleast_2d(np.asarray(X, np.float64))
        n = len(self.sorted_background)
        below = np.column_stack(
            [np.searchsorted(self.sorted_background[:, j], X[:, j], side="right") for j in range(X.shape[1])]
        )
        return 100.0 * below / n

    def _resampled_stability_unlocked(self, X, *, seed: int = 0, resamples: int = STABILITY_RESAMPLES) -> np.ndarray:
        """Mean top-3 Jaccard per row between the stored background's explanation and
        explanations with bootstrap-resampled backgrounds (engine.quality)."""
        X = np.atleast_2d(np.asarray(X, np.float64))
        means = self.member_params(X)[0]
        _, reference = combine.ensemble_mean(
            [explainer.explain(X, means[:, column]) for column, explainer in enumerate(self.members)], self.weights
        )
        rng = np.random.default_rng(seed)
        overlaps = []
        for _ in range(resamples):
            rows = self.background[rng.integers(0, len(self.background), size=len(self.background))]
            members = [MemberExplainer(member, rows) for member in self.ensemble.members]
            member_values = [explainer.explain(X, means[:, column]) for column, explainer in enumerate(members)]
            _, values = combine.ensemble_mean(member_values, self.weights)
            overlaps.append(quality.jaccard_top(reference, values))
        return np.mean(overlaps, axis=0)

    def what_if_curve(self, X_row, feature: int, line: float, anchor=None) -> dict:
        """The mean and P(over) as one feature moves over the background's 5th-95th percentiles."""
        column = self.background[:, feature]
        column = column[np.isfinite(column)]
        grid = np.unique(np.quantile(column, np.linspace(0.05, 0.95, CURVE_POINTS))) if len(column) else np.array([])
        rows = np.repeat(np.atleast_2d(np.asarray(X_row, np.float64)), max(len(grid), 1), axis=0)[: len(grid)]
        if not len(grid):
            return {"x": [], "mean": [], "p_over": []}
        rows[:, feature] = grid
        predicted = self.predict(rows, np.full(len(grid), line), None if anchor is None else np.full(len(grid), anchor))
        return {"x": grid.tolist(), "mean": predicted["mean"].tolist(), "p_over": predicted["p_over"].tolist()}

    # --- shaping one explanation ----------------------------------------------------------

    def payload(self, batch: BatchExplanation, row: int, *, level: str, sport: str, stat: str, stability=None) -> dict:
        """One row's explanation at ``level`` as JSON-ready data (docs/explanations.md)."""
        check_level(level)
        x = batch.X[row]
        mean_values, p_values = batch.mean.values[row], batch.p_over.values[row]
        unit = stat_unit(stat)
        stability_value = self.stability if stability is None else float(stability)
        additivity = float(
            quality.additivity_component(batch.mean.additivity_error[row], batch.mean.base[row], batch.mean.value[row])
        )
        coverage = float(quality.coverage(mean_values)[0])
        score = float(
            quality.quality_score(
                additivity=additivity,
                stability=1.0 if stability_value is None else stability_value,
                coverage_share=coverage,
            )
        )

        entries: dict[int, dict] = {}

        def feature_entry(j: int) -> dict:
            if j not in entries:
                entries[j] = make_entry(j)
            return entries[j]

        def make_entry(j: int) -> dict:
            value = float(x[j])
            typical = float(self.typical[j]) if np.isfinite(self.typical[j]) else None
            label = label_for(sport, stat, self.names[j])
            return {
                "feature": self.names[j],
                "label": label.text,
                "value": value if np.isfinite(value) else None,
                "value_text": label.format(value),
                "typical": typical,
                "mean": float(mean_values[j]),
                "p_over": float(p_values[j]),
                "reason": reason(
                    sport=sport,
                    stat=stat,
                    feature=self.names[j],
                    value=value,
                    typical=typical,
                    contribution=float(mean_values[j]),
                    output="mean",
                ),
            }

        order = np.argsort(-np.abs(mean_values), kind="stable")
        line = float(batch.lines[row])
        result = {
            "level": level,
            "outputs": {
                "mean": _output_dict(batch.mean, row, f"Predicted mean ({unit})", unit),
                "p_over": _output_dict(batch.p_over, row, f"P(over {line:g})", "probability"),
            },
            "line": line,
            "quality": {
                "score": score,
                "additivity": additivity,
                "stability": stability_value,
                "coverage": coverage,
                "definition": quality.DEFINITION,
            },
        }
        up = [int(j) for j in order if mean_values[j] > 0][: quality.TOP_K]
        down = [int(j) for j in order if mean_values[j] < 0][: quality.TOP_K]
        result["top"] = {"up": [feature_entry(j) for j in up], "down": [feature_entry(j) for j in down]}
        result["reasons"] = [entry["reason"] for entry in (feature_entry(j) for j in order[: 2 * quality.TOP_K])]
        if level == "fast":
            return result
        result["contributions"] = [feature_entry(int(j)) for j in order]
        result["members"] = [
            {
                "kind": member.kind,
                "weight": float(weight),
                "space": "log mean" if member.link == "log" else f"mean ({unit})",
                "base": float(member.base[row]),
                "output": float(member.output[row]),
                "additivity_error": float(member.additivity_error[row]),
                "values": dict(zip(self.names, member.values[row].tolist(), strict=True)),
            }
            for member, weight in zip(batch.members, batch.weights, strict=True)
        ]
        if level == "standard":
            return result
        interactions = self.interactions(x[None, :])
        pairs = []
        if interactions is not None:
            matrix = interactions[0]
            upper = np.triu_indices(len(self.names), k=1)
            strength = 2.0 * matrix[upper]
            for index in np.argsort(-np.abs(strength))[:TOP_INTERACTIONS]:
                a, b = int(upper[0][index]), int(upper[1][index])
                pairs.append({"a": self.names[a], "b": self.names[b], "value": float(strength[index])})
        result["interactions"] = {"member": "xgboost", "space": "log mean", "pairs": pairs}
        result["percentiles"] = dict(zip(self.names, self.percentiles(x[None, :])[0].tolist(), strict=True))
        if level == "detailed":
            return result
        anchor = None if batch.anchors is None or not np.isfinite(batch.anchors[row]) else float(batch.anchors[row])
        result["what_if_curves"] = {
            self.names[int(j)]: self.what_if_curve(x, int(j), line, anchor) for j in order[: quality.TOP_K]
        }
        return result


def _output_dict(output: combine.OutputExplanation, row: int, label: str, unit: str) -> dict:
    return {
        "label": label,
        "unit": unit,
        "base": float(output.base[row]),
        "value": float(output.value[row]),
        "explained": float(output.base[row] + output.values[row].sum()),
        "additivity_error": float(output.additivity_error[row]),
    }


def _anchor_vector(anchors, n: int) -> np.ndarray | None:
    if anchors is None:
        return None
    vector = np.array([np.nan if a is None else a for a in np.atleast_1d(np.asarray(anchors, object))], np.float64)
    if len(vector) == 1 and n > 1:
        vector = np.repeat(vector, n)
    if np.all(np.isnan(vector)):
        return None
    return vector
