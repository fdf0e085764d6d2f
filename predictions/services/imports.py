"""Imports: ``data_import`` reads a CSV stream or a JSON list through the pure validator
(predictions.importers), resolves natural keys against the database and writes with one
``INSERT … ON CONFLICT`` per row in ``executemany`` batches, all in one transaction: a file
with a bad row writes nothing unless ``skip_bad``. Re-importing a row with the same natural key
updates it only where a value changed, so the same file twice changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd
from celery import signature
from django.db import transaction

from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from a1site.jobs.services import ProgressFn

from .. import importers, selectors, writes
from ..importers import SPECS, ErrorLog, FileRejected, RowError
from .catalogue import no_progress, sports_sync_catalogue

logger = logging.getLogger(__name__)

# The grading task (predictions.tasks), queued by its stable name.
GRADE_PROPS_TASK = "predictions.grade_props"


class _DbLookups:
    """The importers' natural-key maps, read once per sport per import."""

    def __init__(self) -> None:
        self._sports = sports_sync_catalogue()
        self._cache: dict[tuple[str, int], object] = {}

    def _cached(self, name: str, sport_id: int, read):
        if (name, sport_id) not in self._cache:
            self._cache[name, sport_id] = read(sport_id=sport_id)
        return self._cache[name, sport_id]

    def sport_ids(self) -> dict[str, int]:
        return self._sports

    def team_ids(self, sport_id: int) -> dict[str, int]:
        return self._cached("teams", sport_id, selectors.team_id_map)

    def player_ids(self, sport_id: int) -> dict[str, int]:
        return self._cached("players", sport_id, selectors.player_id_map)

    def games(self, sport_id: int) -> pd.DataFrame:
        return self._cached("games", sport_id, selectors.game_key_table)


@dataclass
class ImportReport:
    kind: str
    source: str
    skip_bad: bool
    rows: int = 0
    imported: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.source,
            "skip_bad": self.skip_bad,
            "rows": self.rows,
            "imported": self.imported,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "error_count": self.error_count,
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
        }


class ImportRejected(ApplicationError):
    """Bad rows (or an unreadable file) and no ``skip_bad``: nothing was written."""

    def __init__(self, message: str, *, code: str, fields: dict, report: ImportReport):
        super().__init__(message, code=code, status_code=400, fields=fields)
        self.report = report


class _Rollback(Exception):
    pass


def _summary(errors: list[RowError], total: int) -> str:
    shown = "; ".join(f"{e.field_key}: {e.message}" for e in errors[:3])
    more = f" (and {total - 3} more)" if total > 3 else ""
    return f"{shown}{more}"


def data_import(
    *,
    kind: str,
    csv_file=None,
    records: list | None = None,
    user=None,
    skip_bad: bool = False,
    source: str = "",
    total_bytes: int | None = None,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Validate and import one file (``csv_file``: a binary stream) or JSON list (``records``).

    Raises ImportRejected (400, code ``invalid_rows`` or ``invalid_file``) naming each bad row
    and column when anything is wrong and ``skip_bad`` is off; nothing is written then.
    """
    if kind not in SPECS:
        raise ApplicationError(
            f"Unknown import kind {kind!r}; expected one of {', '.join(SPECS)}.", code="unknown_kind", status_code=404
        )
    if (csv_file is None) == (records is None):
        raise ValueError("give exactly one of csv_file and records")
    spec = SPECS[kind]
    _, write = writes.WRITERS[kind]
    progress = progress or no_progress
    report = ImportReport(kind=kind, source=source, skip_bad=skip_bad)
    log = ErrorLog()
    try:
        with transaction.atomic():
            if csv_file is not None:
                chunks = importers.csv_chunks(csv_file, spec, total_bytes=total_bytes)
            else:
                chunks = importers.record_chunks(records, spec)
            _write_chunks(chunks, spec=spec, write=write, log=log, report=report, progress=progress)
            report.error_count = log.count
            report.errors = sorted(log.errors)
            if report.skipped and not skip_bad:
                raise _Rollback
            report.unchanged = report.imported - report.created - report.updated
            _audit(user=user, report=report, action="predictions.import")
            if kind == "results" and report.imported:
                _grade_after_commit()
    except FileRejected as exc:
        report.errors, report.error_count = exc.errors, len(exc.errors)
        _audit(user=user, report=report, action="predictions.import_rejected")
        raise ImportRejected(
            f"The {kind} file cannot be imported: {_summary(exc.errors, len(exc.errors))}",
            code="invalid_file",
            fields={error.field_key: [error.message] for error in exc.errors},
            report=report,
        )
    except _Rollback:
        _audit(user=user, report=report, action="predictions.import_rejected")
        raise ImportRejected(
            f"{report.skipped:,} of {report.rows:,} rows are invalid; nothing was imported "
            f"(use skip_bad to import the good rows). {_summary(report.errors, report.error_count)}",
            code="invalid_rows",
            fields=log.as_fields(),
            report=report,
        )
    writes.catalogue_statistics_refresh(rows_written=report.created)
    progress(1.0, "done")
    logger.info("import finished", extra={"report": {k: v for k, v in report.as_dict().items() if k != "errors"}})
    return report


def _write_chunks(chunks, *, spec, write, log: ErrorLog, report: ImportReport, progress: ProgressFn) -> None:
    """Validate each chunk (rows, natural keys, duplicates across chunks) and write its good
    rows while the file is clean (or ``skip_bad``); counts go into ``report``."""
    lookups = _DbLookups()
    tracker = importers.DuplicateTracker()
    for raw in chunks:
        for error in raw.errors:
            log.add(error)
        unreadable = len({error.row for error in raw.errors})
        parsed = importers.parse_chunk(spec, raw, log)
        importers.resolve_chunk(spec, parsed, lookups, log)
        tracker.check(spec, parsed, log)
        report.rows += len(parsed.frame) + unreadable
        report.skipped += int(parsed.bad.sum()) + unreadable
        if report.skip_bad or report.skipped == 0:
            good = parsed.frame.loc[~parsed.bad]
            created, updated = write(good)
            report.created += created
            report.updated += updated
            report.imported += len(good)
        progress(raw.progress, f"{report.rows:,} rows read, {report.skipped:,} bad")


def _grade_after_commit() -> None:
    """New results: grade the settled props once the import is committed (the Celery task
    ``predictions.grade_props``, queued by name: services do not import tasks)."""
    transaction.on_commit(lambda: signature(GRADE_PROPS_TASK).delay())


def _audit(*, user, report: ImportReport, action: str) -> None:
    """An import (``predictions.import``) or a rejected one (``predictions.import_rejected``),
    with its counts and the first 50 errors."""
    audit_record(
        actor=user,
        action=action,
        object_type="predictions.import",
        object_id=report.kind,
        after={key: value for key, value in report.as_dict().items() if key != "errors"},
        details={"errors": [e.field_key + ": " + e.message for e in report.errors[:50]]},
    )
