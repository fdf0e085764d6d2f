"""Prop features: computed once per (game, player, stat), stored, read by serving.

Three ways to a feature row, all through the engine's builders (training's own code):
- a slate: one vectorised pass over the sport's logs (``engine.features.build_game_features``);
- a request that misses the table: the player's recent history in bounded queries
  (``selectors.game_history_logs`` → ``engine.features.game_history_from_logs``);
- an MLB season prop: the three seasons before it (``engine.features.compute_season_features``).
"""

from __future__ import annotations

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from .. import selectors, writes
from ..engine.features import (
    build_game_features,
    compute_season_features,
    feature_hash,
    feature_schema_for,
    game_history_from_logs,
    serving_game_features,
)
from ..engine.lahman import season_feature_inputs
from ..engine.logs import Games, StatLines, team_rest_days
from ..engine.sports import SPORTS
from ..models import PropFeatures

Key = tuple[int, int]  # (game_id, player_id)


def _with_upcoming_rows(games: Games, lines: StatLines, upcoming: list[Key]) -> tuple[StatLines, dict[Key, int]]:
    """``lines`` with a row of unknown stats and minutes appended for each (game, player) of a
    game nobody has played yet (the player on either team); returns the rows' indexes."""
    game_rows = {game: index for index, game in enumerate(games.game_id.tolist())}
    teams = selectors.player_teams_and_roles(player_ids={player for _, player in upcoming})
    rest_game, rest_team, rest_days = team_rest_days(games)
    rest = dict(zip(zip(rest_game.tolist(), rest_team.tolist(), strict=True), rest_days.tolist(), strict=True))
    kept, columns = [], {name: [] for name in ("game", "player", "team", "opponent", "home", "rest", "role")}
    for game_id, player_id in upcoming:
        index = game_rows.get(game_id)
        team, role = teams.get(player_id, (None, ""))
        if index is None or team is None:
            continue
        home, away = int(games.home_team_id[index]), int(games.away_team_id[index])
        if team not in (home, away):
            continue
        kept.append((game_id, player_id))
        opponent = away if team == home else home
        values = (game_id, player_id, team, opponent, team == home, rest[(game_id, team)], role or "")
        for name, value in zip(columns, values, strict=True):
            columns[name].append(value)
    if not kept:
        return lines, {}
    index = np.array([game_rows[game] for game in columns["game"]])
    n = len(kept)
    extra = StatLines(
        game_id=np.array(columns["game"], np.int64),
        player_id=np.array(columns["player"], np.int64),
        team_id=np.array(columns["team"], np.int64),
        opponent_id=np.array(columns["opponent"], np.int64),
        game_date=games.game_date[index],
        season=games.season[index],
        role=np.array(columns["role"], dtype=lines.role.dtype if len(lines) else str),
        is_home=np.array(columns["home"], bool),
        rest_days=np.array(columns["rest"], np.int64),
        minutes=np.full(n, np.nan),
        stats={code: np.full(n, np.nan) for code in lines.stats},
    )
    names = ("game_id", "player_id", "team_id", "opponent_id", "game_date", "season", "role", "is_home", "rest_days")
    joined = StatLines(
        **{name: np.concatenate([getattr(lines, name), getattr(extra, name)]) for name in (*names, "minutes")},
        stats={code: np.concatenate([lines.stats[code], extra.stats[code]]) for code in lines.stats},
    )
    return joined, {key: len(lines) + offset for offset, key in enumerate(kept)}


def feature_rows_from_logs(
    *, sport: str, stat: str, targets: list[Key], logs_cache: dict | None = None
) -> dict[Key, np.ndarray]:
    """Feature rows of game props in one vectorised pass over the sport's logs.

    A target with a stat line (a played game) reads that row's features, which depend only on
    earlier games. A target in a game nobody has played yet gets a row appended with unknown
    stats and minutes: its features come from history like any other, and nothing after it
    reads it. Its lineup is not in the data, so the players priced on the game (any stat)
    stand for the lineup (``teammates_out_minutes``), as in ``feature_row_from_history``. A
    player who did not play a game that has been played gets no row (his props are void)."""
    if logs_cache is not None and sport in logs_cache:
        games, lines = logs_cache[sport]
    else:
        games, lines, _ = selectors.game_logs(sport=sport, with_props=False)
        if logs_cache is not None:
            logs_cache[sport] = (games, lines)
    row_of = {key: row for row, key in enumerate(zip(lines.game_id.tolist(), lines.player_id.tolist(), strict=True))}
    played_games = set(lines.game_id.tolist())
    upcoming = [key for key in targets if key not in row_of and key[0] not in played_games]
    if upcoming:
        # Every player priced on an unplayed game is part of its assumed lineup, whatever the stat.
        priced = selectors.priced_pairs(game_ids={game for game, _ in upcoming})
        lines, appended = _with_upcoming_rows(games, lines, list(dict.fromkeys([*upcoming, *priced])))
        row_of.update(appended)
    wanted = [key for key in targets if key in row_of]
    if not wanted or not len(lines):
        return {}
    X = build_game_features(sport, stat, lines, games)
    return {key: X[row_of[key]] for key in wanted}


def feature_rows_for_seasons(*, stat: str, targets: list[Key]) -> dict[Key, np.ndarray]:
    """Feature rows of MLB season props, reading only the three seasons before the targets'."""
    role = SPORTS["mlb"].stat(stat).roles[0]
    season_of = selectors.game_seasons(game_ids={game for game, _ in targets})
    targets = [key for key in targets if key[0] in season_of]
    if not targets:
        return {}
    seasons_needed = sorted({season_of[game] - lag for game, _ in targets for lag in (1, 2, 3)})
    seasons = selectors.season_lines_for_features(role=role, stat=stat, seasons=seasons_needed)
    target_players = np.array([player for _, player in targets], np.int64)
    target_seasons = np.array([season_of[game] for game, _ in targets], np.int64)
    births = selectors.player_birth_dates(player_ids=set(target_players.tolist()))
    age = np.array(
        [
            np.nan
            if births.get(int(player)) is None
            else season - births[int(player)].year - (births[int(player)].month >= 7)
            for player, season in zip(target_players, target_seasons, strict=True)
        ],
        float,
    )
    X = compute_season_features(season_feature_inputs(seasons, stat, target_players, target_seasons, age))
    return {key: X[index] for index, key in enumerate(targets)}


def feature_row_from_history(*, sport: str, stat: str, game_id: int, player_id: int) -> np.ndarray | None:
    """One game prop's feature row from the player's recent history (bounded queries): the
    request path's answer to a feature miss. None when the player is on neither team."""
    logs = selectors.game_history_logs(sport=sport, game_id=game_id, player_id=player_id)
    if logs is None:
        return None
    history = game_history_from_logs(
        logs.stat_lines,
        logs.games,
        stat=stat,
        player_id=player_id,
        team_id=logs.team_id,
        opponent_id=logs.opponent_id,
        game_date=logs.game_date,
        is_home=logs.is_home,
        rest_days=logs.rest_days,
        role=logs.role,
        active_player_ids=logs.active_player_ids,
        season=logs.season,
    )
    return serving_game_features(sport, [history])[0]


def prop_features_store(*, sport: str, stat: str, rows: dict[Key, np.ndarray]) -> dict:
    """Store feature rows ((game, player) → row); returns (game, player) → (row, hash)."""
    schema = feature_schema_for(sport, stat)
    stored = {key: (np.asarray(row, np.float64), feature_hash(row)) for key, row in rows.items()}
    if stored:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        keys = list(stored)
        with transaction.atomic():
            writes.bulk_upsert(
                PropFeatures,
                {
                    "game_id": [game for game, _ in keys],
                    "player_id": [player for _, player in keys],
                    "stat": [stat] * len(keys),
                    "schema_version": [schema.version] * len(keys),
                    "values": [stored[key][0].tobytes() for key in keys],
                    "feature_hash": [stored[key][1] for key in keys],
                    "created_at": [now] * len(keys),
                },
                key=("game_id", "player_id", "stat", "schema_version"),
                scope="game_id",
            )
    return stored


def prop_features_get(
    *, sport: str, stat: str, targets: list[Key], build: str = "history", logs_cache: dict | None = None
) -> dict[Key, tuple[np.ndarray, str]]:
    """(game, player) → (feature row, hash) for the targets: stored rows in one query, the
    rest built (``build="history"``: one row at a time from recent history, bounded queries
    per row, for requests; ``"logs"``: one vectorised pass over the sport's logs, for slates;
    ``"none"``: not built) and stored. Targets without history are left out."""
    schema = feature_schema_for(sport, stat)
    unique = list(dict.fromkeys(targets))
    wanted = set(unique)
    found: dict[Key, tuple[np.ndarray, str]] = {}
    for game, player, values, digest in selectors.prop_feature_rows(
        stat=stat,
        schema_version=schema.version,
        game_ids={game for game, _ in unique},
        player_ids={player for _, player in unique} if len(wanted) <= 50 else None,
    ):
        if (game, player) in wanted:
            found[(game, player)] = (np.frombuffer(bytes(values), dtype=np.float64), digest)
    missing = [key for key in unique if key not in found]
    if missing and build != "none":
        if SPORTS[sport].horizon == "season":
            built = feature_rows_for_seasons(stat=stat, targets=missing)
        elif build == "logs":
            built = feature_rows_from_logs(sport=sport, stat=stat, targets=missing, logs_cache=logs_cache)
        else:
            built = {}
            for game, player in missing:
                row = feature_row_from_history(sport=sport, stat=stat, game_id=game, player_id=player)
                if row is not None:
                    built[(game, player)] = row
        found.update(prop_features_store(sport=sport, stat=stat, rows=built))
    return found
