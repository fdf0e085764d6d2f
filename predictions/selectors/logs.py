"""Reads of the stored game logs and season lines, as the engine's columnar arrays.

Training reads a sport's whole history (``game_logs``, ``player_seasons``,
``season_prop_table``); serving reads what one prop needs (``game_history_logs``, bounded
queries) and hands it to the same engine builders, so training and serving share one rule for
every feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Q

from ..engine.features import (
    GAMES_PLAYED_CAP,
    HISTORY_WINDOW,
    ROSTER_LOOKBACK_GAMES,
    SEASON_COMPONENTS,
    TEAM_WINDOW,
    season_components,
)
from ..engine.lahman import PlayerSeasons
from ..engine.logs import Games, Props, StatLines, team_rest_days
from ..engine.sports import SPORTS
from ..engine.training import PropTable
from ..models import Game, Player, PropLine, StatLine

# Which season-line stat holds each MLB role's volume (engine.lahman's opportunities).
MLB_VOLUME = {"batter": "plate_appearances", "pitcher": "batters_faced"}

_LINE_FIELDS = ("game_id", "player_id", "team_id", "opponent_id", "is_home", "role", "player__role", "minutes", "stats")


def games_columns(rows) -> Games:
    """``Games`` from (id, season, date, home_team_id, away_team_id, pace) rows."""
    frame = pd.DataFrame(list(rows), columns=["game_id", "season", "date", "home_team_id", "away_team_id", "pace"])
    return Games(
        game_id=frame["game_id"].to_numpy(np.int64),
        season=frame["season"].to_numpy(np.int64),
        game_date=pd.to_datetime(frame["date"]).to_numpy("datetime64[D]"),
        home_team_id=frame["home_team_id"].to_numpy(np.int64),
        away_team_id=frame["away_team_id"].to_numpy(np.int64),
        pace=frame["pace"].astype(float).to_numpy(),
    )


def _stat_lines(rows, games: Games, stat_codes: list[str]) -> StatLines:
    """``StatLines`` from ``_LINE_FIELDS`` rows; dates, seasons and rest days from ``games``
    (which must hold every game the rows name)."""
    lines = pd.DataFrame(list(rows), columns=list(_LINE_FIELDS))
    game_id, team_id, rest = team_rest_days(games)
    rest_frame = pd.DataFrame({"game_id": game_id, "team_id": team_id, "rest_days": rest})
    game_frame = pd.DataFrame({"game_id": games.game_id, "season": games.season, "date": games.game_date})
    lines = lines.merge(game_frame, on="game_id", how="left").merge(rest_frame, on=["game_id", "team_id"], how="left")
    return StatLines(
        game_id=lines["game_id"].to_numpy(np.int64),
        player_id=lines["player_id"].to_numpy(np.int64),
        team_id=lines["team_id"].to_numpy(np.int64),
        opponent_id=lines["opponent_id"].to_numpy(np.int64),
        game_date=lines["date"].to_numpy("datetime64[D]"),
        season=lines["season"].to_numpy(np.int64),
        role=np.where(lines["role"] != "", lines["role"], lines["player__role"]).astype(str),
        is_home=lines["is_home"].fillna(False).to_numpy(bool),
        rest_days=lines["rest_days"].to_numpy(np.int64),
        minutes=lines["minutes"].astype(float).to_numpy(),
        stats={
            code: np.array([stats.get(code, np.nan) for stats in lines["stats"]], dtype=float) for code in stat_codes
        },
    )


def _game_fields():
    return ("id", "season", "date", "home_team_id", "away_team_id", "pace")


def game_logs(*, sport: str, with_props: bool = True) -> tuple[Games, StatLines, Props | None]:
    """The sport's games, stat lines and prop lines as the engine's columnar arrays
    (engine.logs), with database primary keys as the game, player and team ids.
    ``with_props=False`` skips the prop lines (None in their place)."""
    games = games_columns(
        Game.objects.filter(sport__code=sport, kind=Game.Kind.GAME).order_by("date", "id").values_list(*_game_fields())
    )
    line_rows = (
        StatLine.objects.filter(game__sport__code=sport, game__kind=Game.Kind.GAME, team__isnull=False)
        .order_by("game__date", "game_id", "team_id", "player_id")
        .values_list(*_LINE_FIELDS)
    )
    stat_lines = _stat_lines(line_rows, games, [stat.code for stat in SPORTS[sport].stats])
    if not with_props:
        return games, stat_lines, None
    prop_fields = ["game_id", "player_id", "date", "stat", "line", "over", "under", "book", "oracle_mean"]
    prop_rows = (
        PropLine.objects.filter(game__sport__code=sport, game__kind=Game.Kind.GAME)
        .order_by("game__date", "game_id", "player_id", "stat", "book", "seen_at")
        .values_list(
            "game_id",
            "player_id",
            "game__date",
            "stat",
            "line",
            "over_decimal_odds",
            "under_decimal_odds",
            "book",
            "oracle_mean",
            "oracle_dispersion",
        )
    )
    props = pd.DataFrame(list(prop_rows), columns=[*prop_fields, "oracle_dispersion"])
    return (
        games,
        stat_lines,
        Props(
            game_id=props["game_id"].to_numpy(np.int64),
            player_id=props["player_id"].to_numpy(np.int64),
            game_date=pd.to_datetime(props["date"]).to_numpy("datetime64[D]"),
            stat=props["stat"].to_numpy(str),
            line=props["line"].to_numpy(float),
            over_decimal_odds=props["over"].to_numpy(float),
            under_decimal_odds=props["under"].to_numpy(float),
            book=props["book"].to_numpy(str),
            oracle_mean=props["oracle_mean"].astype(float).to_numpy(),
            oracle_dispersion=props["oracle_dispersion"].astype(float).to_numpy(),
        ),
    )


@dataclass(frozen=True)
class GameHistoryLogs:
    """What ``engine.features.game_history_from_logs`` needs for one prop: the rows read from
    the database (every row before the game that any of its features can reach) and the game's
    context for the player (``active_player_ids``: the team's lineup, or the players the books
    priced when it has not played, or its recent rotation when nobody was priced)."""

    games: Games
    stat_lines: StatLines
    team_id: int
    opponent_id: int
    game_date: np.datetime64
    season: int
    is_home: bool
    rest_days: int
    role: str
    active_player_ids: frozenset


def game_history_logs(*, sport: str, game_id: int, player_id: int) -> GameHistoryLogs | None:
    """The rows behind one game prop's features, in a bounded number of queries (the request
    path's answer to a feature miss); None when the game or player is unknown or the player is
    on neither team."""
    game = (
        Game.objects.filter(pk=game_id, kind=Game.Kind.GAME)
        .values("date", "season", "home_team_id", "away_team_id")
        .first()
    )
    player = Player.objects.filter(pk=player_id).values("team_id", "role").first()
    if game is None or player is None:
        return None
    own_line = StatLine.objects.filter(game_id=game_id, player_id=player_id).values("team_id", "role").first()
    team = own_line["team_id"] if own_line else player["team_id"]
    if team not in (game["home_team_id"], game["away_team_id"]):
        return None
    opponent = game["away_team_id"] if team == game["home_team_id"] else game["home_team_id"]
    rows, active = _history_rows(game_id=game_id, player_id=player_id, team=team, opponent=opponent, game=game)
    rows = list({(line[0], line[1]): line for line in rows}.values())
    games = games_columns(
        Game.objects.filter(pk__in={line[0] for line in rows} | {game_id}).order_by("id").values_list(*_game_fields())
    )
    own_row = np.flatnonzero(games.game_id == game_id)
    rest = team_rest_days(games)
    # The game's own rest comes from the team's previous game of the season, which the season
    # games above hold (or none: a season opener).
    rest_of_game = int(rest[2][(rest[0] == game_id) & (rest[1] == team)][0])
    return GameHistoryLogs(
        games=games,
        stat_lines=_stat_lines(rows, games, [stat.code for stat in SPORTS[sport].stats]),
        team_id=team,
        opponent_id=opponent,
        game_date=games.game_date[own_row[0]],
        season=int(game["season"]),
        is_home=team == game["home_team_id"],
        rest_days=rest_of_game,
        role=(own_line or {}).get("role") or player["role"],
        active_player_ids=frozenset(active),
    )


def _history_rows(*, game_id: int, player_id: int, team: int, opponent: int, game: dict) -> tuple[list, set]:
    """(stat line rows, the team's active players) for one prop: the player's last games, the
    lines facing the opponent and the team in their last ``TEAM_WINDOW`` games, the team's
    last ``ROSTER_LOOKBACK_GAMES`` of the season, the game's own lineup, and the recent
    minutes of rotation players who are not active now."""
    date = game["date"]

    def team_games(team_id: int) -> list[int]:
        return list(
            Game.objects.filter(Q(home_team_id=team_id) | Q(away_team_id=team_id), kind=Game.Kind.GAME, date__lt=date)
            .order_by("-date", "-id")
            .values_list("id", flat=True)[:TEAM_WINDOW]
        )

    own_games, opponent_games = team_games(team), team_games(opponent)
    season_games = list(
        Game.objects.filter(
            Q(home_team_id=team) | Q(away_team_id=team), kind=Game.Kind.GAME, date__lt=date, season=game["season"]
        )
        .order_by("-date", "-id")
        .values_list("id", flat=True)[:ROSTER_LOOKBACK_GAMES]
    )
    mine = StatLine.objects.filter(player_id=player_id, game__kind=Game.Kind.GAME, game__date__lt=date).order_by(
        "-game__date"
    )
    rows = list(mine.values_list(*_LINE_FIELDS)[: int(GAMES_PLAYED_CAP)])
    rows += list(
        StatLine.objects.filter(
            Q(game_id__in=opponent_games, opponent_id=opponent)
            | Q(game_id__in=own_games, opponent_id=team)
            | Q(game_id__in=season_games, team_id=team)
            | Q(game_id=game_id, team_id=team)
        ).values_list(*_LINE_FIELDS)
    )
    lineup = {line[1] for line in rows if line[0] == game_id and line[2] == team}
    if not lineup:
        # Not played yet: the team's players the books priced stand for the lineup.
        lineup = set(PropLine.objects.filter(game_id=game_id, player__team_id=team).values_list("player_id", flat=True))
    roster = {line[1] for line in rows if line[0] in set(season_games) and line[2] == team}
    # Without a lineup (not played, nobody priced) the recent rotation is taken as available.
    active = lineup or roster
    if roster - active:
        seen: dict[int, int] = {}
        for line in (
            StatLine.objects.filter(player_id__in=roster - active, game__kind=Game.Kind.GAME, game__date__lt=date)
            .order_by("player_id", "-game__date")
            .values_list(*_LINE_FIELDS)
        ):
            seen[line[1]] = seen.get(line[1], 0) + 1
            if seen[line[1]] <= HISTORY_WINDOW:
                rows.append(line)
    return rows, active


def player_seasons(*, role: str):
    """MLB season lines of one role as engine.lahman.PlayerSeasons (ids: Lahman player ids).

    Age is on June 30 of the season (Marcel's convention, as engine.lahman computes it).
    """
    volume = MLB_VOLUME[role]
    stat_codes = [stat.code for stat in SPORTS["mlb"].stats if role in stat.roles]
    # Components missing from a line (not recorded) stay NaN: engine.features leaves them out.
    components = [code for code in SEASON_COMPONENTS[role] if code not in stat_codes]
    rows = StatLine.objects.filter(game__sport__code="mlb", game__kind=Game.Kind.SEASON).values_list(
        "player__external_id", "player__name", "game__season", "team__external_id", "player__birth_date", "stats"
    )
    frame = pd.DataFrame(list(rows), columns=["player_id", "name", "season", "team", "birth_date", "stats"])
    frame = frame[[volume in stats for stats in frame["stats"]]]
    frame = frame.iloc[np.lexsort((frame["season"].to_numpy(), frame["player_id"].to_numpy(str)))]
    birth = pd.to_datetime(frame["birth_date"])
    age = frame["season"].to_numpy(float) - birth.dt.year.to_numpy(float) - (birth.dt.month >= 7).to_numpy(float)
    return PlayerSeasons(
        role=role,
        player_id=frame["player_id"].to_numpy(str),
        name=frame["name"].to_numpy(str),
        season=frame["season"].to_numpy(np.int64),
        age=np.where(birth.isna().to_numpy(), np.nan, age),
        team=frame["team"].fillna("").to_numpy(str),
        opportunities=np.array([stats[volume] for stats in frame["stats"]], dtype=float),
        stats={
            **{code: np.array([stats.get(code, 0.0) for stats in frame["stats"]], dtype=float) for code in stat_codes},
            **{
                code: np.array([stats.get(code, np.nan) for stats in frame["stats"]], dtype=float)
                for code in components
            },
        },
    )


def season_prop_table(dataset, stat: str) -> PropTable:
    """The stored MLB season props of ``stat``, joined to the dataset's (player, season) rows."""
    rows = (
        PropLine.objects.filter(game__sport__code="mlb", game__kind=Game.Kind.SEASON, stat=stat)
        .order_by("game__season", "player__external_id", "book", "seen_at")
        .values_list(
            "player__external_id",
            "game__season",
            "line",
            "over_decimal_odds",
            "under_decimal_odds",
            "book",
            "oracle_mean",
            "oracle_dispersion",
        )
    )
    row_of = {
        (str(player), int(season)): index
        for index, (player, season) in enumerate(zip(dataset.player_id, dataset.game_id, strict=True))
    }
    kept = [(row_of[(player, season)], rest) for player, season, *rest in rows if (player, season) in row_of]
    columns = list(zip(*(rest for _, rest in kept), strict=True)) if kept else [[]] * 6
    return PropTable(
        row_index=np.array([row for row, _ in kept], dtype=int),
        line=np.array(columns[0], dtype=float),
        over_decimal_odds=np.array(columns[1], dtype=float),
        under_decimal_odds=np.array(columns[2], dtype=float),
        book=np.array(columns[3], dtype=str),
        oracle_mean=np.array([np.nan if v is None else v for v in columns[4]], dtype=float),
        oracle_dispersion=np.array([np.nan if v is None else v for v in columns[5]], dtype=float),
    )


def season_lines_for_features(*, role: str, stat: str, seasons: list[int]) -> PlayerSeasons:
    """The MLB season lines of ``seasons`` that a season prop's features read (ids: database
    primary keys; names, ages and teams are not needed there and left blank)."""
    volume = MLB_VOLUME[role]
    rows = StatLine.objects.filter(
        game__sport__code="mlb", game__kind=Game.Kind.SEASON, game__season__in=seasons
    ).values_list("player_id", "game__season", "stats")
    kept = [(player, season, stats) for player, season, stats in rows if volume in stats]
    return PlayerSeasons(
        role=role,
        player_id=np.array([row[0] for row in kept], np.int64),
        name=np.array([""] * len(kept)),
        season=np.array([row[1] for row in kept], np.int64),
        age=np.full(len(kept), np.nan),
        team=np.array([""] * len(kept)),
        opportunities=np.array([row[2][volume] for row in kept], float),
        stats={
            stat: np.array([row[2].get(stat, 0.0) for row in kept], float),
            **{code: np.array([row[2].get(code, np.nan) for row in kept], float) for code in season_components(stat)},
        },
    )


def priced_pairs(*, game_ids) -> list[tuple[int, int]]:
    """(game_id, player_id) of every prop line priced on these games, any stat."""
    return list(PropLine.objects.filter(game_id__in=set(game_ids)).values_list("game_id", "player_id"))


def player_teams_and_roles(*, player_ids) -> dict[int, tuple[int | None, str]]:
    """player_id → (current team_id, role)."""
    return {
        pk: (team, role)
        for pk, team, role in Player.objects.filter(pk__in=set(player_ids)).values_list("pk", "team_id", "role")
    }


def player_birth_dates(*, player_ids) -> dict:
    return dict(Player.objects.filter(pk__in=set(player_ids)).values_list("pk", "birth_date"))


def game_seasons(*, game_ids) -> dict[int, int]:
    return dict(Game.objects.filter(pk__in=set(game_ids)).values_list("pk", "season"))
