"""The quality score of an explanation, in [0, 1], from three measured things.

- additivity A = max(0, 1 - error / (0.01 x max(|output - base|, 1e-6))): 1 when base plus
  the contributions give the served output exactly, 0 when they miss by 1 % of the move
  they explain (the mean's error, in stat units, is the one scored: P(over)'s attribution is
  additive by construction).
- stability S in [0, 1]: the mean Jaccard overlap of the top-3 features (by |contribution to
  the mean|) between the explanation with the stored background sample and with resampled
  backgrounds. Measured per explanation at the detailed levels; the fast and standard levels
  use the version's figure, measured on a sample of rows when its background was stored.
- coverage C = sum of the top-3 |contributions| / sum of all |contributions|: how much of
  the move a reader sees in the first three reasons.

score = A x (S + C) / 2. A broken explanation (not additive) scores 0 whatever else holds;
among additive ones, stable and concentrated explanations score higher.
"""

from __future__ import annotations

import numpy as np

TOP_K = 3

DEFINITION = (
    "score = A x (S + C) / 2; A = additivity (1 - error / 1 % of |output - base|, floored at 0), "
    "S = stability of the top-3 features when the background sample is resampled (Jaccard), "
    "C = share of all |contributions| carried by the top 3"
)


def top_features(values: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Indices of the k largest |values| per row (n, k)."""
    values = np.atleast_2d(values)
    k = min(k, values.shape[1])
    return np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]


def jaccard_top(first: np.ndarray, second: np.ndarray, k: int = TOP_K) -> np.ndarray:
    a, b = top_features(first, k), top_features(second, k)
    return np.array([len(set(x) & set(y)) / len(set(x) | set(y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)])


def additivity_component(error, base, value) -> np.ndarray:
    move = np.maximum(np.abs(np.asarray(value) - np.asarray(base)), 1e-6)
    return np.clip(1.0 - np.asarray(error) / (0.01 * move), 0.0, 1.0)


def coverage(values: np.ndarray, k: int = TOP_K) -> np.ndarray:
    magnitude = np.abs(np.atleast_2d(values))
    total = magnitude.sum(axis=1)
    top = np.sort(magnitude, axis=1)[:, ::-1][:, :k].sum(axis=1)
    return np.where(total > 0, top / np.where(total > 0, total, 1.0), 1.0)


def quality_score(*, additivity: np.ndarray, stability: np.ndarray, coverage_share: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(additivity) * (np.asarray(stability) + np.asarray(coverage_share)) / 2.0, 0.0, 1.0)
