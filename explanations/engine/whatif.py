"""A what-if row: the stored feature row with some values changed, checked."""

from __future__ import annotations

import math
import numbers

import numpy as np


class ChangeError(ValueError):
    """A change that cannot be applied; ``field`` names it (``changes.<feature>``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def coerce_changes(names, row, changes: dict, *, low, high) -> tuple[np.ndarray, list[dict]]:
    """(new row, warnings). Unknown features and values that are not finite numbers raise
    ChangeError naming the feature; values outside [low, high] (the training rows' range)
    are applied with a warning."""
    if not isinstance(changes, dict):
        raise ChangeError("changes", "expected an object of feature name → number")
    index = {name: position for position, name in enumerate(names)}
    new_row = np.array(row, np.float64, copy=True)
    warnings = []
    for name, value in changes.items():
        field = f"changes.{name}"
        if name not in index:
            raise ChangeError(field, f"unknown feature {name!r}; this model's features are {', '.join(names)}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            raise ChangeError(field, f"expected a finite number; got {value!r}")
        position = index[name]
        new_row[position] = float(value)
        lo, hi = float(low[position]), float(high[position])
        if math.isfinite(lo) and math.isfinite(hi) and not lo <= float(value) <= hi:
            warnings.append(
                {
                    "feature": name,
                    "message": f"{value:g} is outside the training rows' range [{lo:g}, {hi:g}]: "
                    "the model extrapolates here",
                }
            )
    return new_row, warnings
