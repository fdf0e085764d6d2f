"""Bulk writes of the predictions tables: ``bulk_upsert`` (the stored rows found by natural key
first, then plain ``INSERT``s of the new rows and ``UPDATE``s of the changed ones: ``executemany``
on SQLite, a ``COPY`` into a staging table and set-based statements on PostgreSQL) and one
writer per importable kind (``WRITERS``), each taking the importer's validated frame. Used by
``services.data_import`` and by the demo data (predictions.services.demo)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
from django.db import connection, models, transaction

from a1site.core.db import planner_statistics_refresh

from . import importers
from .models import Game, Player, Prediction, PropLine, Result, Sport, StatLine, Team

# Rows per executemany call: large enough to amortise the call, small enough to keep the
# parameter list's memory modest.
WRITE_BATCH_ROWS = 20_000


def placeholder(model_field: models.Field) -> str:
    if connection.vendor == "postgresql" and isinstance(model_field, models.JSONField):
        return "%s::jsonb"
    return "%s"


# Values per IN (...) list when reading existing keys: well under every backend's limit.
_IN_BATCH = 500


def _existing_ids(model, columns: dict[str, list], key: tuple[str, ...], scope: str) -> np.ndarray:
    """The primary key of the stored row with each row's natural key; -1 for new rows."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    scope_values = sorted(set(columns[scope]))
    found = []
    with connection.cursor() as cursor:
        for start in range(0, len(scope_values), _IN_BATCH):
            batch = scope_values[start : start + _IN_BATCH]
            cursor.execute(
                f"SELECT {', '.join(quote(k) for k in key)}, {quote(model._meta.pk.column)} FROM {table} "  # noqa: S608 - quoted names from model metadata; values are parameters
                f"WHERE {quote(scope)} IN ({', '.join(['%s'] * len(batch))})",
                batch,
            )
            found += cursor.fetchall()
    if not found:
        return np.full(len(columns[scope]), -1, dtype=np.int64)
    stored = pd.DataFrame(found, columns=[*key, "__pk"])
    ours = pd.DataFrame({name: columns[name] for name in key})
    for name in key:
        if stored[name].dtype != ours[name].dtype:
            stored[name] = stored[name].astype(object)
            ours[name] = ours[name].astype(object)
    merged = ours.merge(stored, on=list(key), how="left", sort=False)
    return merged["__pk"].fillna(-1).to_numpy(dtype=np.int64)


def bulk_upsert(
    model: type[models.Model], columns: dict[str, list], *, key: tuple[str, ...], scope: str
) -> tuple[int, int]:
    """Insert new rows; update stored rows with the same ``key`` where a value differs.

    ``columns`` maps database column names to equally long lists of database-ready values;
    ``scope`` is an indexed key column to find the stored rows by. Returns (created, updated).
    Plain SQL through ``executemany``: a model instance per row costs more than the write
    itself at a million rows, and splitting new from stored rows first keeps the inserts plain
    (SQLite's ``ON CONFLICT DO UPDATE`` halves the insert rate) and the re-import of an
    unchanged file write-free.
    """
    names = list(columns)
    if not names or not len(columns[names[0]]):
        return 0, 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    by_column = {f.column: f for f in model._meta.concrete_fields}
    stored_pk = _existing_ids(model, columns, key, scope)
    new = stored_pk < 0
    rows = list(zip(*(columns[name] for name in names), strict=True))
    new_rows = [rows[i] for i in np.flatnonzero(new)]
    update_names = [n for n in names if n not in key]
    positions = [names.index(n) for n in update_names]
    stored_rows = (
        [(int(stored_pk[i]), *(rows[i][p] for p in positions)) for i in np.flatnonzero(~new)] if update_names else []
    )
    pk = quote(model._meta.pk.column)
    # A row another writer stored since the read above is left to that writer.
    conflict = f"ON CONFLICT ({', '.join(quote(k) for k in key)}) DO NOTHING"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _pg_write(cursor, model, names, update_names, new_rows, stored_rows, conflict)
        created = updated = 0
        insert = (
            f"INSERT INTO {table} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 - quoted names from model metadata; values are parameters
            f"VALUES ({', '.join(placeholder(by_column[n]) for n in names)}) {conflict}"
        )
        for start in range(0, len(new_rows), WRITE_BATCH_ROWS):
            cursor.executemany(insert, new_rows[start : start + WRITE_BATCH_ROWS])
            created += max(cursor.rowcount, 0)
        if stored_rows:
            assignments = ", ".join(f"{quote(n)} = {placeholder(by_column[n])}" for n in update_names)
            changed = " OR ".join(f"{quote(n)} IS DISTINCT FROM {placeholder(by_column[n])}" for n in update_names)
            sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND ({changed})"  # noqa: S608 - quoted names from model metadata; values are parameters
            params = [(*row[1:], row[0], *row[1:]) for row in stored_rows]
            for start in range(0, len(params), WRITE_BATCH_ROWS):
                cursor.executemany(sql, params[start : start + WRITE_BATCH_ROWS])
                updated += max(cursor.rowcount, 0)
    return created, updated


def _pg_write(cursor, model, names, update_names, new_rows, stored_rows, conflict) -> tuple[int, int]:
    """PostgreSQL: COPY the rows into a temporary table, then one set-based statement each:
    ``INSERT … SELECT`` for the new rows, ``UPDATE … FROM`` for the stored rows that changed.

    A statement with tens of thousands of parameters spends most of its time being parsed,
    and executemany pays a round trip per row; COPY streams the rows at the rate the server
    stores them. Constraints stay the database's: foreign keys, CHECKs and the unique key
    are enforced on the write into the real table, as before.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    created = updated = 0
    # The staging tables must live and die inside the caller's transaction.
    with transaction.atomic(savepoint=False):
        if new_rows:
            staged = _pg_stage(cursor, model, names, new_rows)
            columns = ", ".join(quote(n) for n in names)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staged} {conflict}"  # noqa: S608 - quoted names from model metadata
            )
            created = max(cursor.rowcount, 0)
            cursor.execute(f"DROP TABLE {staged}")
        if stored_rows:
            staged = _pg_stage(cursor, model, [model._meta.pk.column, *update_names], stored_rows)
            assignments = ", ".join(f"{quote(n)} = staged.{quote(n)}" for n in update_names)
            changed = " OR ".join(f"{table}.{quote(n)} IS DISTINCT FROM staged.{quote(n)}" for n in update_names)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {staged} AS staged "  # noqa: S608 - quoted names from model metadata
                f"WHERE {table}.{pk} = staged.{pk} AND ({changed})"
            )
            updated = max(cursor.rowcount, 0)
            cursor.execute(f"DROP TABLE {staged}")
    return created, updated


_PG_STAGING_TABLE = "a1_import_staging"


def _pg_stage(cursor, model, names: list[str], rows: list[tuple]) -> str:
    """A temporary table with ``names`` typed as in ``model``'s table, filled with ``rows``
    by COPY; returns its quoted name. It has none of the real table's constraints: the rows
    meet those when they are written into the real table."""
    quote = connection.ops.quote_name
    staged = quote(_PG_STAGING_TABLE)
    columns = ", ".join(quote(n) for n in names)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {staged} ON COMMIT DROP AS "  # noqa: S608 - quoted names from model metadata
        f"SELECT {columns} FROM {quote(model._meta.db_table)} WITH NO DATA"
    )
    with cursor.copy(f"COPY {staged} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return staged


def _ints(values) -> list:
    array = np.asarray(values, dtype="float64")
    out = array.astype(object)
    valid = ~np.isnan(array)
    out[valid] = array[valid].astype(np.int64).tolist()
    out[~valid] = None
    return out.tolist()


def floats(values) -> list:
    array = np.asarray(values, dtype="float64")
    out = array.astype(object)
    out[np.isnan(array)] = None
    return out.tolist()


def _bools(values, default: bool = False) -> list:
    series = pd.Series(values)
    return series.astype(object).where(series.notna(), default).astype(bool).tolist()


def _nullable_bools(values) -> list:
    series = pd.Series(values, dtype="boolean")
    return [None if value is pd.NA else bool(value) for value in series]


def _texts(values) -> list:
    return pd.Series(values).fillna("").astype(str).tolist()


def _dates(values) -> list:
    adapt = connection.ops.adapt_datefield_value
    series = pd.to_datetime(pd.Series(values))
    return [None if pd.isna(value) else adapt(value.date()) for value in series]


def _datetimes(values) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(value) for value in pd.Series(values).dt.to_pydatetime()]


# --- Writers: typed frames (resolved primary keys) → rows -----------------------------------------


def write_teams(frame: pd.DataFrame) -> tuple[int, int]:
    return bulk_upsert(
        Team,
        {
            "sport_id": _ints(frame["sport_pk"]),
            "external_id": _texts(frame["team_id"]),
            "name": _texts(frame["name"]),
            "abbreviation": _texts(frame["abbreviation"]),
            "simulated": _bools(frame["simulated"]),
        },
        key=("sport_id", "external_id"),
        scope="sport_id",
    )


def write_players(frame: pd.DataFrame) -> tuple[int, int]:
    return bulk_upsert(
        Player,
        {
            "sport_id": _ints(frame["sport_pk"]),
            "external_id": _texts(frame["player_id"]),
            "name": _texts(frame["name"]),
            "team_id": _ints(frame["team_pk"]),
            "role": _texts(frame["role"]),
            "birth_date": _dates(frame["birth_date"]),
            "simulated": _bools(frame["simulated"]),
        },
        key=("sport_id", "external_id"),
        scope="sport_id",
    )


def write_games(frame: pd.DataFrame) -> tuple[int, int]:
    return bulk_upsert(
        Game,
        {
            "sport_id": _ints(frame["sport_pk"]),
            "external_id": _texts(frame["game_id"]),
            "kind": _texts(frame["kind"]),
            "season": _ints(frame["season"]),
            "date": _dates(frame["date"]),
            "home_team_id": _ints(frame["home_team_pk"]),
            "away_team_id": _ints(frame["away_team_pk"]),
            "pace": floats(frame["pace"]),
            "simulated": _bools(frame["simulated"]),
        },
        key=("sport_id", "external_id"),
        scope="sport_id",
    )


def write_stat_lines(frame: pd.DataFrame) -> tuple[int, int]:
    return bulk_upsert(
        StatLine,
        {
            "player_id": _ints(frame["player_pk"]),
            "game_id": _ints(frame["game_pk"]),
            "team_id": _ints(frame["team_pk"]),
            "opponent_id": _ints(frame["opponent_pk"]),
            "is_home": _nullable_bools(frame["is_home"]),
            "role": _texts(frame["role"]),
            "minutes": floats(frame["minutes"]),
            "stats": importers.stats_json(frame),
            "simulated": _bools(frame["simulated"]),
        },
        key=("player_id", "game_id"),
        scope="game_id",
    )


def write_props(frame: pd.DataFrame) -> tuple[int, int]:
    p_over, p_under, p_push = importers.oracle_probabilities(
        frame["stat"], frame["sport_code"], frame["oracle_mean"], frame["oracle_dispersion"], frame["line"]
    )
    return bulk_upsert(
        PropLine,
        {
            "game_id": _ints(frame["game_pk"]),
            "player_id": _ints(frame["player_pk"]),
            "stat": _texts(frame["stat"]),
            "book": _texts(frame["book"]),
            "seen_at": _datetimes(frame["seen_at"]),
            "line": floats(frame["line"]),
            "over_decimal_odds": floats(frame["over_decimal_odds"]),
            "under_decimal_odds": floats(frame["under_decimal_odds"]),
            "simulated": _bools(frame["simulated"]),
            "oracle_mean": floats(frame["oracle_mean"]),
            "oracle_dispersion": floats(frame["oracle_dispersion"]),
            "oracle_p_over": floats(p_over),
            "oracle_p_under": floats(p_under),
            "oracle_p_push": floats(p_push),
        },
        key=("game_id", "player_id", "stat", "book", "seen_at"),
        scope="game_id",
    )


def write_results(frame: pd.DataFrame) -> tuple[int, int]:
    return bulk_upsert(
        Result,
        {
            "game_id": _ints(frame["game_pk"]),
            "player_id": _ints(frame["player_pk"]),
            "stat": _texts(frame["stat"]),
            "value": floats(frame["value"]),
            "status": _texts(frame["status"]),
        },
        key=("game_id", "player_id", "stat"),
        scope="game_id",
    )


WRITERS: dict[str, tuple[type[models.Model], Callable[[pd.DataFrame], tuple[int, int]]]] = {
    "teams": (Team, write_teams),
    "players": (Player, write_players),
    "games": (Game, write_games),
    "stats": (StatLine, write_stat_lines),
    "props": (PropLine, write_props),
    "results": (Result, write_results),
}
IMPORT_KINDS = tuple(WRITERS)


# --- Predictions -----------------------------------------------------------------------------


class PredictionRow(NamedTuple):
    """One Prediction row as the hand-written INSERT writes it: the fields are the columns, in
    order, so a column is added here once and every writer (API requests, slates) follows."""

    prop_line_id: int | None
    game_id: int
    player_id: int
    stat: str
    line: float
    over_decimal_odds: float | None
    under_decimal_odds: float | None
    model_version_id: int
    weights_id: int | None
    shadow: bool
    source: str
    mean: float
    p_over: float
    p_under: float
    p_push: float
    edge: float | None
    side: str
    member_probabilities: str  # JSON text
    feature_hash: str
    simulated: bool
    created_at: object  # the database's form of an aware datetime
    outcome: str


PREDICTION_COLUMNS: tuple[str, ...] = PredictionRow._fields


@functools.lru_cache(maxsize=8)
def _prediction_insert_sql(vendor: str) -> tuple[str, str, str]:
    """(INSERT head, one row's placeholders, RETURNING clause) for the Prediction table: built
    once per process, since a single-prop request would otherwise spend longer quoting names
    (each through Django's per-thread connection proxy) than writing its row."""
    quote = connection.ops.quote_name
    by_column = {f.column: f for f in Prediction._meta.concrete_fields}
    row_sql = "(" + ", ".join(placeholder(by_column[name]) for name in PREDICTION_COLUMNS) + ")"
    head = f"INSERT INTO {quote(Prediction._meta.db_table)} ({', '.join(quote(n) for n in PREDICTION_COLUMNS)}) VALUES "  # noqa: S608 - quoted names from model metadata; values are parameters
    return head, row_sql, f" RETURNING {quote('id')}"


def predictions_insert(rows: list[PredictionRow], *, returning: bool = True) -> list[int]:
    """Insert prediction rows in one transaction; with ``returning``, multi-row INSERT …
    RETURNING id gives the ids in order. Model instances and ``bulk_create`` cost several times
    the write itself at 10,000 rows. Without ids SQLite takes ``executemany`` of one prepared
    statement (Django rewrites the placeholders of every statement it runs, which costs more
    than the insert for a 100,000-value statement)."""
    if not rows:
        return []
    vendor = connection.vendor
    head, row_sql, returning_sql = _prediction_insert_sql(vendor)
    if not returning and vendor != "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(rows), WRITE_BATCH_ROWS):
                cursor.executemany(head + row_sql, rows[start : start + WRITE_BATCH_ROWS])
        return []
    # PostgreSQL takes 65,535 parameters per statement; SQLite 32,766 since 3.32.
    limit = 60_000 if vendor == "postgresql" else 32_000
    per_statement = max(1, limit // len(PREDICTION_COLUMNS))
    ids: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            cursor.execute(
                head + ", ".join([row_sql] * len(batch)) + (returning_sql if returning else ""),
                [value for row in batch for value in row],
            )
            if returning:
                ids += [row[0] for row in cursor.fetchall()]
    return ids


def predictions_upsert(rows: list[PredictionRow]) -> tuple[int, int]:
    """Insert or update slate predictions by (prop line, model version)."""
    columns = {name: [getattr(row, name) for row in rows] for name in PREDICTION_COLUMNS}
    return bulk_upsert(Prediction, columns, key=("prop_line_id", "model_version_id"), scope="prop_line_id")


# Sport included: its four rows never change enough for PostgreSQL's autovacuum to analyse
# it, and unanalysed it was estimated to hold 5 of 1,960 NBA games, which turned a props
# page past its first few into a sort of every NBA prop (1.3 ms -> 160 ms).
CATALOGUE_TABLES = [
    model._meta.db_table for model in (Sport, Game, Player, Team, StatLine, PropLine, Result, Prediction)
]


# Rows written at once that change the tables' shape enough to refresh the planner's
# statistics (a few milliseconds each time; a small import or slate does not need it).
STATISTICS_AFTER_ROWS = 10_000


def catalogue_statistics_refresh(*, rows_written: int | None = None) -> None:
    """The query planner's statistics of the sports tables, after a bulk load (demo, import,
    a large slate); with ``rows_written``, only when that is at least STATISTICS_AFTER_ROWS.
    Stale statistics cost more than a slow plan on PostgreSQL: 120,000 predictions written
    after the last ANALYZE made a props page's plan estimate cross jit_above_cost."""
    if rows_written is None or rows_written >= STATISTICS_AFTER_ROWS:
        planner_statistics_refresh(*CATALOGUE_TABLES)
