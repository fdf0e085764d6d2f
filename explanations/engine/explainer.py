"""One ensemble version's explainer: both outputs for a batch of rows, and the levels.

Built once per model version (and live weights) with its background sample (``background``:
float64 rows of the training data, stored with the version); explaining a batch costs one
TreeSHAP call and one DeepExplainer call plus a vectorised combination (engine.combine).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from . import combine, quality
from .labels import Label, label_for, label_reason, stat_unit
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
        self._texts_by_stat: dict[tuple[str, str], _FeatureTexts] = {}
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
        """Each member's served mean and dispersion (n, K), as serving computes them."""
        X = self._rows(X)
        params = [explainer.served_params(X) for explainer in self.members]
        return np.column_stack([p.mean for p in params]), np.column_stack([p.dispersion for p in params])

    def _predict_unlocked(self, X: np.ndarray, lines, anchors=None) -> dict[str, np.ndarray]:
        """mean and P(over/under/push) as serving prices them."""
        X = self._rows(X)
        member_means, member_dispersions = self._member_params_unlocked(X)
        return self.pricing.prices(
            member_means, member_dispersions, _line_vector(lines, len(X)), _anchor_vector(anchors, len(X))
        )

    def _rows(self, X) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, np.float64))
        if X.shape[1] != len(self.names):
            raise ValueError(f"feature matrix has {X.shape[1]} columns; the model has {len(self.names)} features")
        return X

    # --- explaining -----------------------------------------------------------------------

    def _explain_unlocked(self, X, lines, anchors=None) -> BatchExplanation:
        X = self._rows(X)
        lines = _line_vector(lines, len(X))
        anchors = _anchor_vector(anchors, len(X))
        explained = [explainer.explain_served(X) for explainer in self.members]
        member_values = [values for values, _ in explained]
        member_means = np.column_stack([params.mean for _, params in explained])
        member_dispersions = np.column_stack([params.dispersion for _, params in explained])
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
        """One row's explanation at ``level`` as JSON-ready data (docs/explanations.md); each
        level adds fields to the one before."""
        check_level(level)
        texts = self._texts(sport, stat)
        line = float(batch.lines[row])
        entries = _FeatureEntries(texts, batch, row)
        order = np.argsort(-np.abs(batch.mean.values[row]), kind="stable").tolist()
        up = [j for j in order if entries.means[j] > 0][: quality.TOP_K]
        down = [j for j in order if entries.means[j] < 0][: quality.TOP_K]
        result = {
            "level": level,
            "outputs": {
                "mean": _output_dict(batch.mean, row, f"Predicted mean ({texts.unit})", texts.unit),
                "p_over": _output_dict(batch.p_over, row, f"P(over {line:g})", "probability"),
            },
            "line": line,
            "quality": self._quality(batch, row, stability),
            "top": {"up": [entries[j] for j in up], "down": [entries[j] for j in down]},
            "reasons": [entries[j]["reason"] for j in order[: 2 * quality.TOP_K]],
        }
        if level == "fast":
            return result
        result["contributions"] = [entries[j] for j in order]
        result["members"] = self._member_dicts(batch, row, texts.unit)
        if level == "standard":
            return result
        x = batch.X[row]
        result["interactions"] = {"member": "xgboost", "space": "log mean", "pairs": self._interaction_pairs(x)}
        result["percentiles"] = dict(zip(self.names, self.percentiles(x[None, :])[0].tolist(), strict=True))
        if level == "detailed":
            return result
        anchor = None if batch.anchors is None or not np.isfinite(batch.anchors[row]) else float(batch.anchors[row])
        result["what_if_curves"] = {
            self.names[j]: self.what_if_curve(x, j, line, anchor) for j in order[: quality.TOP_K]
        }
        return result

    def _texts(self, sport: str, stat: str) -> _FeatureTexts:
        """The features' labels and typical values for a sport/stat, looked up once."""
        texts = self._texts_by_stat.get((sport, stat))
        if texts is None:
            typical = [value if math.isfinite(value) else None for value in self.typical.tolist()]
            labels = [label_for(sport, stat, name) for name in self.names]
            texts = _FeatureTexts(stat_unit(stat), self.names, labels, typical)
            self._texts_by_stat[(sport, stat)] = texts
        return texts

    def _quality(self, batch: BatchExplanation, row: int, stability) -> dict:
        """The row's quality score and its parts (engine.quality); ``stability`` measured for
        this row, or None for the version's figure."""
        stability_value = self.stability if stability is None else float(stability)
        additivity = float(
            quality.additivity_component(batch.mean.additivity_error[row], batch.mean.base[row], batch.mean.value[row])
        )
        coverage = float(quality.coverage(batch.mean.values[row])[0])
        score = float(
            quality.quality_score(
                additivity=additivity,
                stability=1.0 if stability_value is None else stability_value,
                coverage_share=coverage,
            )
        )
        return {
            "score": score,
            "additivity": additivity,
            "stability": stability_value,
            "coverage": coverage,
            "definition": quality.DEFINITION,
        }

    def _member_dicts(self, batch: BatchExplanation, row: int, unit: str) -> list[dict]:
        """Each member's explanation of the row in its own output space."""
        return [
            {
                "kind": member.kind,
                "weight": float(weight),
                "space": "log mean" if member.link == "log" else f"mean ({unit})",
                "base": float(member.base[row]),
                "output": float(member.output[row]),
                "additivity_error": float(member.additivity_error[row]),
                "values": dict(zip(self.names, member.values[row].tolist(), strict=True)),
            }
            for member, weight in zip(batch.members, batch.weights.tolist(), strict=True)
        ]

    def _interaction_pairs(self, x: np.ndarray) -> list[dict]:
        """The tree member's strongest feature pairs for one row (``TOP_INTERACTIONS``)."""
        interactions = self.interactions(x[None, :])
        if interactions is None:
            return []
        upper = np.triu_indices(len(self.names), k=1)
        strength = 2.0 * interactions[0][upper]
        pairs = []
        for index in np.argsort(-np.abs(strength))[:TOP_INTERACTIONS]:
            a, b = int(upper[0][index]), int(upper[1][index])
            pairs.append({"a": self.names[a], "b": self.names[b], "value": float(strength[index])})
        return pairs


@dataclass(frozen=True)
class _FeatureTexts:
    """What a payload says about each feature of a sport/stat before it sees a row."""

    unit: str
    names: list[str]
    labels: list[Label]
    typical: list[float | None]


class _FeatureEntries:
    """One row's per-feature entries (value, typical value, label, contributions, reason),
    each built the first time it is asked for: ``fast`` shows six, ``standard`` all."""

    def __init__(self, texts: _FeatureTexts, batch: BatchExplanation, row: int):
        self.texts = texts
        self.values = batch.X[row].tolist()
        self.means = batch.mean.values[row].tolist()
        self.p_overs = batch.p_over.values[row].tolist()
        self._built: dict[int, dict] = {}

    def __getitem__(self, j: int) -> dict:
        entry = self._built.get(j)
        if entry is None:
            entry = self._built[j] = self._build(j)
        return entry

    def _build(self, j: int) -> dict:
        texts = self.texts
        value, typical, label, mean = self.values[j], texts.typical[j], texts.labels[j], self.means[j]
        value_text = label.format(value)
        return {
            "feature": texts.names[j],
            "label": label.text,
            "value": value if math.isfinite(value) else None,
            "value_text": value_text,
            "typical": typical,
            "mean": mean,
            "p_over": self.p_overs[j],
            "reason": label_reason(
                label,
                value=value,
                typical=typical,
                contribution=mean,
                output="mean",
                unit=texts.unit,
                value_text=value_text,
            ),
        }


def _output_dict(output: combine.OutputExplanation, row: int, label: str, unit: str) -> dict:
    return {
        "label": label,
        "unit": unit,
        "base": float(output.base[row]),
        "value": float(output.value[row]),
        "explained": float(output.base[row] + output.values[row].sum()),
        "additivity_error": float(output.additivity_error[row]),
    }


def _line_vector(lines, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(lines, np.float64), (n,)).copy()


def _anchor_vector(anchors, n: int) -> np.ndarray | None:
    """Each row's book anchor as floats (NaN: no book), or None where no row has one."""
    if anchors is None:
        return None
    if isinstance(anchors, np.ndarray) and anchors.dtype.kind == "f":
        vector = np.array(anchors, np.float64).reshape(-1)
    else:
        vector = np.array([np.nan if a is None else a for a in np.atleast_1d(np.asarray(anchors, object))], np.float64)
    if len(vector) == 1 and n > 1:
        vector = np.repeat(vector, n)
    if np.all(np.isnan(vector)):
        return None
    return vector
