"""Reads of the model registry: other apps read model versions here, never through the model."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from a1site.core.db import as_aware

from .models import ModelVersion


def model_version_list(
    *, sport: str | None = None, name: str | None = None, kind: str | None = None
) -> QuerySet[ModelVersion]:
    queryset = ModelVersion.objects.select_related("created_by", "activated_by")
    if sport:
        queryset = queryset.filter(sport=sport)
    if name:
        queryset = queryset.filter(name=name)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset


def production_versions(*, sport: str | None = None) -> QuerySet[ModelVersion]:
    return model_version_list(sport=sport).filter(status=ModelVersion.Status.PRODUCTION)


def production_version(*, name: str) -> ModelVersion | None:
    return production_versions().filter(name=name).first()


def production_version_ids(*, names) -> dict[str, int]:
    """name → id of the production version of each name that has one (one query)."""
    rows = ModelVersion.objects.filter(name__in=list(names), status=ModelVersion.Status.PRODUCTION)
    return dict(rows.values_list("name", "id"))


def model_version_get(*, version_id: int, kind: str | None = None) -> ModelVersion | None:
    queryset = ModelVersion.objects.filter(pk=version_id)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.first()


def model_versions_by_id(*, version_ids) -> dict[int, ModelVersion]:
    return ModelVersion.objects.in_bulk(list(version_ids))


# --- Hand-written SELECTs for the Dashboard ----------------------------------------------
# The ORM takes longer to build a query of a few columns than the database takes to answer it
# (~0.5 ms against ~0.02 ms), and every logged-in view of the Dashboard reads these; the
# columns are the model's own, quoted the same way on SQLite and PostgreSQL.

_TABLE = f'"{ModelVersion._meta.db_table}"'


@dataclass(frozen=True)
class VersionSummary:
    """What the Dashboard shows of a production version (a plain value: it keys a cache)."""

    id: int
    name: str
    kind: str
    version: int
    activated_at: dt.datetime | None

    @property
    def kind_label(self) -> str:
        return ModelVersion.Kind(self.kind).label if self.kind in ModelVersion.Kind.values else self.kind


def production_version_summaries() -> list[VersionSummary]:
    """Every production version, in the registry's order (name, newest number first)."""
    sql = (
        f'SELECT "id", "name", "kind", "version", "activated_at" FROM {_TABLE} '  # noqa: S608 - the model's own table
        'WHERE "status" = %s ORDER BY "name", "version" DESC'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ModelVersion.Status.PRODUCTION.value])
        rows = cursor.fetchall()
    return [VersionSummary(pk, name, kind, number, as_aware(at)) for pk, name, kind, number, at in rows]


def production_held_out_log_losses(*, kind: str) -> list[tuple[int, str, int, float | None]]:
    """(id, name, number, held-out log loss) of each production version of one kind, in the
    registry's order; the log loss is the ``log_loss`` of the version's metrics."""
    sql = (
        f'SELECT "id", "name", "version", "metrics" FROM {_TABLE} '  # noqa: S608 - the model's own table
        'WHERE "status" = %s AND "kind" = %s ORDER BY "name", "version" DESC'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ModelVersion.Status.PRODUCTION.value, kind])
        rows = cursor.fetchall()
    return [(pk, name, number, (_json(metrics) or {}).get("log_loss")) for pk, name, number, metrics in rows]


def version_labels(*, version_ids) -> dict[int, tuple[str, int]]:
    """version id → (name, number)."""
    wanted = sorted(set(version_ids))
    if not wanted:
        return {}
    placeholders = ", ".join(["%s"] * len(wanted))
    sql = f'SELECT "id", "name", "version" FROM {_TABLE} WHERE "id" IN ({placeholders})'  # noqa: S608 - placeholders only
    with connection.cursor() as cursor:
        cursor.execute(sql, wanted)
        return {pk: (name, number) for pk, name, number in cursor.fetchall()}


def _json(value):
    """A JSON column as a raw cursor returns it: text (Django turns off the drivers' decoding)."""
    return json.loads(value) if isinstance(value, str | bytes) else value
