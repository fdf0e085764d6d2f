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

from ..models import Game, Player, Prediction, PropFeatures, PropLine, PropsListGeneration, Result, Sport, Team

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


def placeholders(values) -> str:
    """``%s, %s, …``: one parameter placeholder per value."""
    return ", ".join(["%s"] * len(values))


def in_(column: str, values) -> Clause:
    values = list(values)
    return f"{quoted(column)} IN ({placeholders(values)})", values


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


def props_list_generation() -> int | None:
    """The props list's generation (``PropsListGeneration``), raised by the database with every
    write to what the list shows. ``None`` when its row is gone (a flushed database): nothing is
    kept under it, and the next write's trigger makes the row again, at a random number no
    process can have kept pages under (migration 0006). A read writes nothing."""
    with connection.cursor() as cursor:
        cursor.execute(_generation_sql())
        row = cursor.fetchone()
    return None if row is None else row[0]


@functools.cache
def _generation_sql() -> str:
    return f"SELECT n FROM {connection.ops.quote_name(PropsListGeneration._meta.db_table)} WHERE id = 1"  # noqa: S608


def prop_row_version_rows(keys: list[int]) -> list[tuple]:
    """The values every row of the props list shows (``catalogue.PROP_ROW_VERSION``, in that
    order) of the props in ``keys``, in no particular order.

    Three SELECTs: the props with their result and latest shown prediction, then their games
    (with sport and teams) and their players by primary key. The ORM took ~6 ms to build one
    query joining all of them, and PostgreSQL ~4 ms to plan it (seven relations); apart,
    each plans and runs in well under a millisecond."""
    if not keys:
        return []
    props = _fetch(_props_sql(), [False], keys)
    if not props:  # all deleted since the keys were read; ``IN ()`` is an error on PostgreSQL
        return []
    games = {row[0]: row for row in _fetch(_games_sql(), [], {row[_GAME_ID] for row in props})}
    players = {row[0]: row for row in _fetch(_players_sql(), [], {row[_PLAYER_ID] for row in props})}
    out = []
    for row in props:
        game, player = games.get(row[_GAME_ID]), players.get(row[_PLAYER_ID])
        if game is None or player is None:  # deleted since the props were read
            continue
        own = list(row[:_GAME_ID])
        own[_SEEN_AT] = as_aware(own[_SEEN_AT])  # SQLite gives it naive, in UTC
        out.append((*own, *game, *player, *row[_PLAYER_ID + 1 :]))
    return out


def _fetch(sql: str, params: list, keys) -> list[tuple]:
    keys = list(keys)
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("(:keys)", f"({placeholders(keys)})"), [*params, *keys])
        return cursor.fetchall()


# The props' SELECT: the prop's own values, then its game's and player's ids (in a row's
# version each is followed by what that game, or player, shows), then the result and the
# latest shown prediction (``_props_sql``).
_PROP_COLUMNS = (
    "p.id", "p.stat", "p.book", "p.line", "p.over_decimal_odds", "p.under_decimal_odds", "p.seen_at", "p.simulated",
    "p.oracle_mean", "p.oracle_dispersion", "p.oracle_p_over", "p.oracle_p_under", "p.oracle_p_push",
    "p.game_id", "p.player_id", "r.value", "r.status",
)  # fmt: skip
_SEEN_AT, _GAME_ID, _PLAYER_ID = (_PROP_COLUMNS.index(column) for column in ("p.seen_at", "p.game_id", "p.player_id"))


def _tables() -> dict:
    models = (PropLine, Game, Sport, Team, Player, Result, Prediction)
    return {model: connection.ops.quote_name(model._meta.db_table) for model in models}


@functools.cache
def _props_sql() -> str:
    t = _tables()
    latest = (
        f"(SELECT pr.id FROM {t[Prediction]} pr WHERE pr.prop_line_id = p.id AND pr.shadow = %s"  # noqa: S608
        " ORDER BY pr.created_at DESC, pr.id DESC LIMIT 1)"
    )
    # A result is unique per (game, player, stat): a LEFT JOIN finds the one a prop settles on.
    return (
        f"SELECT {', '.join(_PROP_COLUMNS)}, {latest}"  # noqa: S608
        f" FROM {t[PropLine]} p LEFT JOIN {t[Result]} r"
        " ON r.game_id = p.game_id AND r.player_id = p.player_id AND r.stat = p.stat WHERE p.id IN (:keys)"
    )


@functools.cache
def _games_sql() -> str:
    t = _tables()
    return (
        "SELECT g.id, g.external_id, g.kind, g.season, g.date, s.code, s.label,"  # noqa: S608
        " h.id, h.external_id, h.name, h.abbreviation, a.id, a.external_id, a.name, a.abbreviation"
        f" FROM {t[Game]} g JOIN {t[Sport]} s ON s.id = g.sport_id"
        f" LEFT JOIN {t[Team]} h ON h.id = g.home_team_id LEFT JOIN {t[Team]} a ON a.id = g.away_team_id"
        " WHERE g.id IN (:keys)"
    )


@functools.cache
def _players_sql() -> str:
    return f"SELECT id, external_id, name, role FROM {_tables()[Player]} WHERE id IN (:keys)"  # noqa: S608
