"""Database upkeep that Django does not do for us."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

# Enough rows per index for SQLite to tell a selective index from an unselective one; a full
# ANALYZE of the demo's 300,000 props would read every index whole.
SQLITE_ANALYSIS_LIMIT = 1000


def planner_statistics_refresh(*tables: str) -> None:
    """ANALYZE ``tables`` after a bulk load, so the query planner knows their sizes.

    PostgreSQL's autovacuum does this by itself, later; SQLite never does, and without
    statistics it plans the unfiltered props list as a sort of every prop (~60 ms a page)
    instead of a walk down the games' date index (~1 ms)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def as_aware(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime column as a raw cursor returns it, aware: SQLite gives the stored UTC time
    without its zone (the ORM adds it), PostgreSQL gives it aware."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, dt.UTC)
    return value
