"""Hand-written SELECTs for the request path, and the reads built on them.

The ORM takes longer to build the lookups of one prediction request than the database takes
to answer them (~0.5 ms against ~0.1 ms each; bench/predict.py ``http_single_p50_ms``), so the
per-request reads (players and games by natural key, stored feature rows) are plain SQL over
the models' own table and column names.
"""

from __future__ import annotations

import functools

from django.db import connection

from a1site.core.db import as_aware

from ..models import Game, Player, Prediction, PropFeatures, PropLine, Result, Sport, Team

Clause = tuple[str, list]


def select_rows(model, fields: tuple[str, ...], *, all_of: list[Clause], any_of: list[Clause] | None = None) -> list:
    """``fields`` of ``model``'s rows meeting every ``all_of`` clause and, if ``any_of`` is
    given, at least one of its clauses (each an SQL condition on the model's columns with
    ``%s`` placeholders, and its parameters; ``any_of`` clauses without parameters are left
    out, and none left matches nothing)."""
    clauses = list(all_of)
    if any_of is not None:
        present = [(sql, params) for sql, params in any_of if params]
        if not present:
            return []
        clauses.append(
            ("(" + " OR ".join(f"({sql})" for sql, _ in present) + ")", [v for _, params in present for v in params])
        )
    sql = _select_head(connection.vendor, model, fields) + " AND ".join(f"({clause})" for clause, _ in clauses)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for _, params in clauses for value in params])
        return cursor.fetchall()


@functools.lru_cache(maxsize=64)
def _select_head(vendor: str, model, fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = [model._meta.pk.column if name == "pk" else model._meta.get_field(name).column for name in fields]
    return f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)} WHERE "  # noqa: S608 - quoted names from model metadata


# Column names in the clauses below are A1's own (letters and underscores), quoted the same
# way on SQLite and PostgreSQL, so no trip through the connection proxy is needed per clause.
def quoted(column: str) -> str:
    return f'"{column}"'


def eq(column: str, value) -> Clause:
    return f"{quoted(column)} = %s", [value]


def in_(column: str, values) -> Clause:
    values = list(values)
    return f"{quoted(column)} IN ({', '.join(['%s'] * len(values))})", values


PLAYER_FIELDS = ("pk", "external_id", "name", "team_id", "simulated")
GAME_FIELDS = ("pk", "external_id", "kind", "season", "date", "home_team_id", "away_team_id", "simulated")


def players_by_keys(*, sport_id: int, pks, external_ids) -> list[dict]:
    """The sport's players with one of these primary keys or external ids (``PLAYER_FIELDS``)."""
    rows = select_rows(
        Player,
        PLAYER_FIELDS,
        all_of=[eq("sport_id", sport_id)],
        any_of=[in_("id", pks), in_("external_id", external_ids)],
    )
    return [dict(zip(PLAYER_FIELDS, values, strict=True)) for values in rows]


def games_by_keys(*, sport_id: int, pks, external_ids, seasons) -> list[dict]:
    """The sport's games with one of these primary keys or external ids, and its season rows of
    these ``seasons`` (``GAME_FIELDS``)."""
    season_clause = in_("season", seasons)
    rows = select_rows(
        Game,
        GAME_FIELDS,
        all_of=[eq("sport_id", sport_id)],
        any_of=[
            in_("id", pks),
            in_("external_id", external_ids),
            (f"{quoted('kind')} = %s AND {season_clause[0]}", [Game.Kind.SEASON.value, *season_clause[1]])
            if season_clause[1]
            else ("", []),
        ],
    )
    return [dict(zip(GAME_FIELDS, values, strict=True)) for values in rows]


# Values per IN (...) list of game ids: well inside every backend's limit.
_GAME_CHUNK = 900


def prop_feature_rows(*, stat: str, schema_version: str, game_ids, player_ids=None) -> list[tuple]:
    """Stored feature rows (game_id, player_id, values bytes, feature_hash) of ``stat`` under
    one schema version for these games, and only these players when given (a request for a
    few props reads only their rows; a slate reads every player of its games)."""
    game_ids = sorted(set(game_ids))
    found: list[tuple] = []
    for start in range(0, len(game_ids), _GAME_CHUNK):
        where = [
            eq("stat", stat),
            eq("schema_version", schema_version),
            in_("game_id", game_ids[start : start + _GAME_CHUNK]),
        ]
        if player_ids is not None:
            where.append(in_("player_id", set(player_ids)))
        found += select_rows(PropFeatures, ("game_id", "player_id", "values", "feature_hash"), all_of=where)
    return found


def prop_row_version_rows(keys: list[int]) -> list[tuple]:
    """The values every row of the props list shows (``catalogue.PROP_ROW_VERSION``, in that
    order) of the props in ``keys``, in one SELECT. The ORM took ~6 ms to build this query
    (joins, a result and the latest shown prediction), the database ~1 ms to answer it."""
    if not keys:
        return []
    sql = _prop_row_version_sql(connection.vendor).replace("(:keys)", f"({', '.join(['%s'] * len(keys))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [False, *keys])
        rows = cursor.fetchall()
    at = _PROP_VERSION_COLUMNS.index("p.seen_at")
    return [(*row[:at], as_aware(row[at]), *row[at + 1 :]) for row in rows]


_PROP_VERSION_COLUMNS = (
    "p.id", "p.stat", "p.book", "p.line", "p.over_decimal_odds", "p.under_decimal_odds", "p.seen_at", "p.simulated",
    "p.oracle_mean", "p.oracle_dispersion", "p.oracle_p_over", "p.oracle_p_under", "p.oracle_p_push",
    "p.game_id", "g.external_id", "g.kind", "g.season", "g.date", "s.code", "s.label",
    "h.id", "h.external_id", "h.name", "h.abbreviation", "a.id", "a.external_id", "a.name", "a.abbreviation",
    "p.player_id", "pl.external_id", "pl.name", "pl.role",
    "r.value", "r.status",
)  # fmt: skip


@functools.lru_cache(maxsize=4)
def _prop_row_version_sql(vendor: str) -> str:
    table = {
        model: connection.ops.quote_name(model._meta.db_table)
        for model in (PropLine, Game, Sport, Team, Player, Result, Prediction)
    }
    latest = (
        f"(SELECT pr.id FROM {table[Prediction]} pr WHERE pr.prop_line_id = p.id AND pr.shadow = %s"  # noqa: S608
        " ORDER BY pr.created_at DESC, pr.id DESC LIMIT 1)"
    )
    # A result is unique per (game, player, stat): a LEFT JOIN finds the one a prop settles on.
    return (
        f"SELECT {', '.join(_PROP_VERSION_COLUMNS)}, {latest}"  # noqa: S608 - names from model metadata
        f" FROM {table[PropLine]} p JOIN {table[Game]} g ON g.id = p.game_id JOIN {table[Sport]} s ON s.id = g.sport_id"
        f" LEFT JOIN {table[Team]} h ON h.id = g.home_team_id LEFT JOIN {table[Team]} a ON a.id = g.away_team_id"
        f" JOIN {table[Player]} pl ON pl.id = p.player_id"
        f" LEFT JOIN {table[Result]} r ON r.game_id = p.game_id AND r.player_id = p.player_id AND r.stat = p.stat"
        " WHERE p.id IN (:keys)"
    )
