"""Reading a CSV file or a JSON list into chunks of strings (``csv_chunks``, ``record_chunks``),
and the row errors every step reports."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from predictions.importers.specs import ImportSpec

CHUNK_ROWS = 100_000
# pyarrow parses the CSV in blocks of this size (about 100,000 stat lines).
CSV_BLOCK_BYTES = 4 << 20
# Enough to fix a file; more only floods the terminal or the response.
MAX_REPORTED_ERRORS = 200


@dataclass(frozen=True, order=True)
class RowError:
    row: int  # 1-based data row; 0 for the header / the file as a whole
    column: str
    message: str

    @property
    def field_key(self) -> str:
        return f"row {self.row}.{self.column}" if self.row else f"header.{self.column}"


@dataclass
class ErrorLog:
    """Every error is counted; the first ``limit`` are kept to report."""

    limit: int = MAX_REPORTED_ERRORS
    errors: list[RowError] = field(default_factory=list)
    count: int = 0
    bad_rows: int = 0

    def add(self, error: RowError) -> None:
        self.count += 1
        if len(self.errors) < self.limit:
            self.errors.append(error)

    def add_many(self, rows: np.ndarray, column: str, messages) -> None:
        """``messages``: one string for all rows, or a sequence aligned with ``rows``."""
        self.count += len(rows)
        room = self.limit - len(self.errors)
        if room <= 0:
            return
        if isinstance(messages, str):
            messages = [messages] * min(len(rows), room)
        for row, message in zip(rows[:room], messages, strict=False):
            self.errors.append(RowError(int(row), column, str(message)))

    def as_fields(self) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for error in sorted(self.errors):
            fields.setdefault(error.field_key, []).append(error.message)
        return fields


@dataclass
class RawChunk:
    """Strings as read: ``frame`` has one column per spec column ('' where absent or empty)."""

    frame: pd.DataFrame
    rows: np.ndarray
    errors: list[RowError]
    progress: float


@dataclass
class ParsedChunk:
    frame: pd.DataFrame  # typed values (NaN/None where empty); resolved *_pk columns added later
    rows: np.ndarray
    bad: np.ndarray  # bool per row
    column_bad: dict[str, np.ndarray]


class FileRejected(ValueError):
    """The file as a whole cannot be read (header, encoding): nothing row-level to report."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(f"{e.field_key}: {e.message}" for e in errors))
        self.errors = errors


# --- Reading -----------------------------------------------------------------------------


def check_header(spec: ImportSpec, header: list[str]) -> list[RowError]:
    errors = []
    seen = set()
    for name in header:
        if name in seen:
            errors.append(RowError(0, name or "(empty)", "column appears twice"))
        seen.add(name)
        if name not in spec.names:
            errors.append(RowError(0, name or "(empty)", f"unknown column for {spec.kind}"))
    for name in spec.required:
        if name not in seen:
            errors.append(RowError(0, name, "missing required column"))
    return errors


def _frame_from_columns(spec: ImportSpec, header: list[str], columns: list[list[str]], n: int) -> pd.DataFrame:
    by_name = dict(zip(header, columns, strict=True))
    return pd.DataFrame({name: pd.Series(by_name[name], dtype="str") for name in spec.names if name in by_name})


class _CountingReader(io.RawIOBase):
    """Counts the bytes read, so progress can follow a stream whose size is known."""

    def __init__(self, raw):
        self.raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.bytes_read += size
        return size


def _read_header(stream) -> list[str]:
    first = stream.readline()
    stream.seek(0)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected([RowError(0, "(file)", f"not UTF-8 text ({exc.reason} at byte {exc.start})")])
    if not text.strip():
        raise FileRejected([RowError(0, "(file)", "the file is empty; expected a header line")])
    return [name.strip() for name in next(csv.reader([text.rstrip("\r\n")]))]


def _row_numbers(start: int, count: int, skipped: np.ndarray) -> np.ndarray:
    """The first ``count`` row numbers from ``start`` on that are not in ``skipped`` (sorted)."""
    end = start + count
    while True:
        inside = int(np.count_nonzero((skipped >= start) & (skipped < end)))
        if end - start - inside >= count:
            break
        end = start + count + inside
    numbers = np.arange(start, end, dtype=np.int64)
    return numbers[~np.isin(numbers, skipped)][:count]


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose values are all empty: blank lines, or ",,," from a spreadsheet."""
    blank = (frame.iloc[:, 0].str.strip() == "").to_numpy() if len(frame.columns) else np.zeros(0, dtype=bool)
    if blank.any():
        candidates = frame.loc[blank]
        blank[blank] = (candidates.apply(lambda column: column.str.strip() == "")).all(axis=1).to_numpy()
    return blank


def csv_chunks(stream, spec: ImportSpec, *, total_bytes: int | None = None) -> Iterator[RawChunk]:
    """Read a CSV byte stream (UTF-8, first line the header; seekable) in chunks of strings.

    pyarrow parses (about a million rows a second). A row with more or fewer values than the
    header is an error of that row; rows whose values are all empty (blank lines) are skipped
    but counted, so row N is line N + 1 of the file. Values cannot contain line breaks.
    """
    header = _read_header(stream)
    header_errors = check_header(spec, header)
    if header_errors:
        raise FileRejected(header_errors)
    counter = _CountingReader(stream)
    invalid: list[RowError] = []
    invalid_numbers: list[int] = []

    def on_invalid_row(row) -> str:
        number = (row.number - 1) if row.number is not None else -1
        invalid_numbers.append(number)
        if row.actual_columns > row.expected_columns:
            invalid.append(
                RowError(
                    number,
                    f"(column {row.expected_columns + 1})",
                    f"extra column: {row.actual_columns} values, the header has {row.expected_columns}",
                )
            )
        elif row.text.strip().strip(",") or row.actual_columns > 1:
            invalid.append(
                RowError(
                    number,
                    header[row.actual_columns],
                    f"missing column: {row.actual_columns} values, the header has {row.expected_columns}",
                )
            )
        return "skip"

    try:
        reader = pa_csv.open_csv(
            counter,
            read_options=pa_csv.ReadOptions(
                use_threads=False, block_size=CSV_BLOCK_BYTES, column_names=header, skip_rows=1
            ),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid_row, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        next_row = 1
        for batch in reader:
            skipped = np.array(sorted(invalid_numbers), dtype=np.int64)
            rows = _row_numbers(next_row, batch.num_rows, skipped)
            next_row = int(rows[-1]) + 1 if len(rows) else next_row
            frame = batch.to_pandas()
            blank = _blank_rows(frame)
            if blank.any():
                frame, rows = frame.loc[~blank].reset_index(drop=True), rows[~blank]
            errors, invalid[:] = list(invalid), []
            progress = counter.bytes_read / total_bytes if total_bytes else 0.0
            yield RawChunk(frame[[name for name in spec.names if name in frame]], rows, errors, min(progress, 1.0))
        if invalid:
            yield RawChunk(
                pd.DataFrame({name: pd.Series([], dtype="str") for name in header}),
                np.empty(0, dtype=np.int64),
                list(invalid),
                1.0,
            )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "utf8" in message or "UTF-8" in message:
            message = "not UTF-8 text"
        raise FileRejected([RowError(0, "(file)", f"not a readable CSV file: {message}")])


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def record_chunks(records, spec: ImportSpec, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[RawChunk]:
    """The JSON form: a list of objects with the CSV columns as keys (values may be typed)."""
    if not isinstance(records, list):
        raise FileRejected([RowError(0, "(body)", "expected a JSON list of objects, one per row")])
    if not records:
        raise FileRejected([RowError(0, "(body)", "the list is empty")])
    names = spec.names
    required = spec.required
    total = len(records)
    for start in range(0, total, chunk_rows):
        good_rows, numbers, errors = [], [], []
        for offset, record in enumerate(records[start : start + chunk_rows]):
            row = start + offset + 1
            if not isinstance(record, dict):
                errors.append(RowError(row, "(row)", "expected an object"))
                continue
            row_errors = [RowError(row, key, f"unknown column for {spec.kind}") for key in record if key not in names]
            row_errors += [RowError(row, key, "missing column") for key in required if key not in record]
            if row_errors:
                errors += row_errors
                continue
            good_rows.append([_as_text(record.get(name)) for name in names])
            numbers.append(row)
        columns = [list(column) for column in zip(*good_rows, strict=True)] if good_rows else [[] for _ in names]
        yield RawChunk(
            _frame_from_columns(spec, list(names), columns, len(good_rows)),
            np.array(numbers, dtype=np.int64),
            errors,
            min((start + chunk_rows) / total, 1.0),
        )
