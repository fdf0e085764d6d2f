"""Parsing a chunk of strings into typed values, vectorised, column by column (``parse_chunk``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute

from predictions.importers.chunks import ErrorLog, ParsedChunk, RawChunk
from predictions.importers.specs import Column, ImportSpec

TRUE_WORDS = ("true", "1", "yes", "y", "t")
FALSE_WORDS = ("false", "0", "no", "n", "f")
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})$"
_NAN_WORDS = ("nan", "+nan", "-nan")


def _shown(values: pd.Series) -> list[str]:
    return [f"{value[:40]!r}" for value in values]


def _to_float(text: pd.Series, empty: np.ndarray) -> np.ndarray:
    """Numbers as float64, NaN where empty or not a number. Arrow's cast parses a clean column
    ten times faster than pandas; a column with a bad value takes pandas' coercing path."""
    try:
        arrow = pa.array(text.where(~empty, None), type=pa.string())
        return pa_compute.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.to_numeric(text.where(~empty, None), errors="coerce").astype("float64").to_numpy()


def _absent(column: Column, index: pd.Index) -> pd.Series:
    """The typed value of an optional column the file does not have."""
    if column.type in ("int", "float"):
        return pd.Series(np.nan, index=index, dtype="float64")
    if column.type == "bool":
        return pd.Series(False, index=index)
    if column.type in ("date", "datetime"):
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]" if column.type == "datetime" else None)
    return pd.Series("", index=index, dtype="str")


def _parse_column(column: Column, raw: pd.Series) -> tuple[pd.Series, list[tuple[np.ndarray, object]]]:
    """The typed values and a list of (bad row mask, message or messages) for one column."""
    text = raw.str.strip()
    empty = (text == "").to_numpy()
    problems: list[tuple[np.ndarray, object]] = []
    if not column.allow_empty and empty.any():
        problems.append((empty, "required: the value is empty"))
    if column.type == "text":
        values = text
        if column.choices:
            bad = ~empty & ~text.isin(column.choices).to_numpy()
            if bad.any():
                problems.append(
                    (bad, [f"must be one of {', '.join(column.choices)}; got {v}" for v in _shown(text[bad])])
                )
        too_long = (text.str.len() > column.max_length).to_numpy()
        if too_long.any():
            problems.append((too_long, f"longer than {column.max_length} characters"))
        return values, problems
    if column.type in ("int", "float"):
        array = _to_float(text, empty)
        numbers = pd.Series(array, index=raw.index)
        missing = np.isnan(array) & ~empty
        nan_literal = missing & text.str.lower().isin(_NAN_WORDS).to_numpy()
        not_number = missing & ~nan_literal
        if nan_literal.any():
            problems.append((nan_literal, "NaN is not allowed"))
        if not_number.any():
            problems.append((not_number, [f"not a number: {v}" for v in _shown(text[not_number])]))
        infinite = np.isinf(array)
        if infinite.any():
            problems.append((infinite, "must be finite"))
        finite = np.isfinite(array)
        if column.type == "int":
            fractional = finite & (np.floor(array) != array)
            if fractional.any():
                problems.append((fractional, "must be a whole number"))
        if column.min_value is not None:
            low = finite & ((array <= column.min_value) if column.strictly_greater else (array < column.min_value))
            if low.any():
                sign = ">" if column.strictly_greater else "≥"
                problems.append((low, [f"must be {sign} {column.min_value:g}; got {v:g}" for v in array[low]]))
        if column.max_value is not None:
            high = finite & (array > column.max_value)
            if high.any():
                problems.append((high, [f"must be ≤ {column.max_value:g}; got {v:g}" for v in array[high]]))
        return numbers.where(finite, np.nan), problems
    if column.type == "bool":
        lower = text.str.lower()
        truthy = lower.isin(TRUE_WORDS).to_numpy()
        falsy = lower.isin(FALSE_WORDS).to_numpy()
        bad = ~empty & ~truthy & ~falsy
        if bad.any():
            problems.append((bad, [f"expected true or false; got {v}" for v in _shown(text[bad])]))
        return pd.Series(truthy, index=raw.index), problems
    if column.type == "date":
        shaped = text.str.match(_DATE_RE).to_numpy()
        parsed = pd.to_datetime(text.where(shaped, None), format="%Y-%m-%d", errors="coerce")
        bad = ~empty & parsed.isna().to_numpy()
        if bad.any():
            problems.append((bad, [f"expected a date as YYYY-MM-DD; got {v}" for v in _shown(text[bad])]))
        return parsed, problems
    if column.type == "datetime":
        shaped = text.str.match(_DATETIME_RE).to_numpy()
        parsed = pd.to_datetime(text.where(shaped, None), format="ISO8601", utc=True, errors="coerce")
        bad = ~empty & parsed.isna().to_numpy()
        if bad.any():
            problems.append(
                (
                    bad,
                    [
                        f"expected an ISO 8601 time with a UTC offset, e.g. 2024-01-05T18:30:00Z; got {v}"
                        for v in _shown(text[bad])
                    ],
                )
            )
        return parsed, problems
    raise ValueError(f"unknown column type {column.type!r}")


def parse_chunk(spec: ImportSpec, chunk: RawChunk, log: ErrorLog) -> ParsedChunk:
    """Check every value's type and range; ``bad`` marks rows with at least one problem."""
    frame = chunk.frame
    rows = chunk.rows
    bad = np.zeros(len(frame), dtype=bool)
    typed = {}
    column_bad = {}
    for column in spec.columns:
        mask = np.zeros(len(frame), dtype=bool)
        column_bad[column.name] = mask
        if column.name not in frame:
            typed[column.name] = _absent(column, frame.index)
            continue
        values, problems = _parse_column(column, frame[column.name])
        typed[column.name] = values
        for problem_mask, messages in problems:
            log.add_many(rows[problem_mask], column.name, messages)
            mask |= problem_mask
        bad |= mask
    return ParsedChunk(pd.DataFrame(typed, index=frame.index), rows, bad, column_bad)
