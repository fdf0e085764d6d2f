"""Features: one function per horizon, used unchanged for training and for serving.

Game props (NBA, NFL, NHL) use ``compute_game_features(GameFeatureInputs)``. Its inputs are
"lag matrices": row i holds the player's last ``HISTORY_WINDOW`` games strictly before the
game being predicted (column 0 = the most recent), NaN where he has fewer games. Training
builds the lag matrices for every row at once (``build_game_features``); serving builds them
for one row or a batch from a player's recent history (``serving_game_features``), without
pandas. Both then call the same function, so training and serving rows are equal by
construction (tests check it to 1e-6).

No leakage: every lag matrix is built from games strictly before the game's date, so a game's
own stats never reach its features (tests change a game's stats and compare). What is known
before tip-off and does not come from the game's stats is context: home/away, rest days, and
who is in the lineup (``teammates_out_minutes``: the usual minutes of teammates who played in
the team's last five games but are not active in this one).

Exponentially weighted means use a half-life of ``EWM_HALFLIFE`` games over the window only
(weights 0.5 ** (lag / half-life), lag 0 = last game), so serving never needs more than the
window.

Season props (MLB) use ``compute_season_features(SeasonFeatureInputs)``: the last three
seasons' rates and opportunities, age, the player's rate relative to the league, the
Marcel projection, and for batters the other batting stats' rates over the same three
seasons (``SEASON_COMPONENTS``, weighted as Marcel weights seasons). The league's own level
is not a feature: it is one value per season, so trees fit on ~35 seasons memorise eras (the
2015-19 rise in home runs) and extrapolate them;
the league level reaches the models through Marcel's regression, and the season models use
Marcel's count as an offset (``StatDataset.offset_feature``) so they learn the player's
correction to it.

Every model stores the ``FeatureSchema`` (ordered names + version hash) it was trained with and
checks it when loaded or asked to predict.

One module past ~500 lines on purpose: it is the one definition of what a model sees (the
schema, its version hash and, per horizon, the one function training and serving both call),
and the version hash covers it all, so a reader checks "training equals serving" in one place.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass

import numpy as np

from predictions.engine.logs import Games, StatLines
from predictions.engine.marcel import MarcelConfig, marcel_project
from predictions.engine.sports import get_sport

# Bump when the meaning of a feature changes without its name changing.
FEATURE_VERSION = "1"
HISTORY_WINDOW = 40
TEAM_WINDOW = 30
EWM_HALFLIFE = 8.0
ROSTER_LOOKBACK_GAMES = 5
SEASON_LAGS = 3
GAMES_PLAYED_CAP = 100.0
_DAYS_SINCE_CAP = 60.0


@dataclass(frozen=True)
class FeatureSchema:
    names: tuple[str, ...]
    version: str

    @classmethod
    def from_names(cls, names) -> FeatureSchema:
        names = tuple(names)
        digest = hashlib.sha256(f"v{FEATURE_VERSION}:{'|'.join(names)}".encode()).hexdigest()
        return cls(names=names, version=digest[:16])

    def to_dict(self) -> dict:
        return {"names": list(self.names), "version": self.version}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSchema:
        stored = cls(names=tuple(data["names"]), version=str(data["version"]))
        expected = cls.from_names(stored.names)
        if expected.version != stored.version:
            raise ValueError(
                f"feature schema version {stored.version} does not match its names under feature "
                f"code version {FEATURE_VERSION} (expected {expected.version}): the model was built "
                "by a different feature definition; retrain it"
            )
        return stored

    def check(self, other: FeatureSchema) -> None:
        """Raise ValueError unless ``other`` is the same schema."""
        if other.version == self.version and other.names == self.names:
            return
        missing = [name for name in self.names if name not in other.names]
        extra = [name for name in other.names if name not in self.names]
        raise ValueError(
            f"feature schema mismatch: model expects version {self.version} "
            f"({len(self.names)} features), got version {other.version} ({len(other.names)} features); "
            f"missing {missing or 'none'}, unexpected {extra or 'none'}"
            + ("" if missing or extra else ", same names in a different order")
        )


# ----------------------------------------------------------------------------------------
# Game props


def game_feature_names(stat: str) -> tuple[str, ...]:
    return (
        f"{stat}_last5",
        f"{stat}_last10",
        f"{stat}_last40",
        f"{stat}_ewm",
        f"{stat}_sd10",
        f"{stat}_per_minute_ewm",
        f"{stat}_per_minute_last40",
        "minutes_last5",
        "minutes_ewm",
        f"{stat}_projection",
        f"{stat}_projection_last40",
        "games_played_prior",
        "days_since_last_game",
        f"opponent_allowed_{stat}_last30",
        "team_pace_last30",
        "opponent_pace_last30",
        "is_home",
        "rest_days",
        "teammates_out_minutes",
        "role_index",
    )


def feature_hash(row: np.ndarray) -> str:
    """sha256 (first 32 hex digits) of a feature row as float32 bytes: the row's identity in
    the feature table, the prediction cache's keys and stored predictions."""
    return hashlib.sha256(np.ascontiguousarray(row, dtype=np.float32).tobytes()).hexdigest()[:32]


def game_schema(stat: str) -> FeatureSchema:
    return FeatureSchema.from_names(game_feature_names(stat))


@dataclass(frozen=True)
class GameFeatureInputs:
    """Lag matrices (newest first, NaN-padded) and context, one row per prediction."""

    stat_history: np.ndarray  # (n, HISTORY_WINDOW)
    minutes_history: np.ndarray  # (n, HISTORY_WINDOW)
    games_played_prior: np.ndarray
    days_since_last_game: np.ndarray
    opponent_allowed_history: np.ndarray  # (n, TEAM_WINDOW)
    team_pace_history: np.ndarray  # (n, TEAM_WINDOW)
    opponent_pace_history: np.ndarray  # (n, TEAM_WINDOW)
    is_home: np.ndarray
    rest_days: np.ndarray
    teammates_out_minutes: np.ndarray
    role_index: np.ndarray


def _ewm_weights(width: int) -> np.ndarray:
    return 0.5 ** (np.arange(width) / EWM_HALFLIFE)


def _window_mean(history: np.ndarray, width: int) -> np.ndarray:
    window = history[:, :width]
    valid = ~np.isnan(window)
    count = valid.sum(axis=1)
    total = np.where(valid, window, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _window_sd(history: np.ndarray, width: int) -> np.ndarray:
    window = history[:, :width]
    valid = ~np.isnan(window)
    count = valid.sum(axis=1)
    mean = _window_mean(history, width)
    squares = np.where(valid, (window - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return np.where(count > 1, np.sqrt(squares / np.maximum(count - 1, 1)), np.nan)


def _weighted_sum(history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    weights = _ewm_weights(history.shape[1])
    valid = ~np.isnan(history)
    return np.where(valid, history, 0.0) @ weights, valid.astype(float) @ weights


def _ewm(history: np.ndarray) -> np.ndarray:
    total, weight = _weighted_sum(history)
    return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    positive = denominator > 0
    return np.where(positive, numerator / np.where(positive, denominator, 1.0), np.nan)


def compute_game_features(inputs: GameFeatureInputs) -> np.ndarray:
    """The feature matrix (n, len(game_feature_names)) in schema order."""
    stat = inputs.stat_history
    minutes = inputs.minutes_history
    stat_total, _ = _weighted_sum(np.where(np.isnan(minutes), np.nan, stat))
    minutes_total, _ = _weighted_sum(np.where(np.isnan(stat), np.nan, minutes))
    per_minute = _ratio(stat_total, minutes_total)
    both = ~np.isnan(stat) & ~np.isnan(minutes)
    per_minute_window = _ratio(np.where(both, stat, 0.0).sum(axis=1), np.where(both, minutes, 0.0).sum(axis=1))
    minutes_ewm = _ewm(minutes)
    columns = [
        _window_mean(stat, 5),
        _window_mean(stat, 10),
        _window_mean(stat, HISTORY_WINDOW),
        _ewm(stat),
        _window_sd(stat, 10),
        per_minute,
        per_minute_window,
        _window_mean(minutes, 5),
        minutes_ewm,
        per_minute * minutes_ewm,
        per_minute_window * minutes_ewm,
        np.minimum(np.asarray(inputs.games_played_prior, float), GAMES_PLAYED_CAP),
        np.minimum(np.asarray(inputs.days_since_last_game, float), _DAYS_SINCE_CAP),
        _window_mean(inputs.opponent_allowed_history, TEAM_WINDOW),
        _window_mean(inputs.team_pace_history, TEAM_WINDOW),
        _window_mean(inputs.opponent_pace_history, TEAM_WINDOW),
        np.asarray(inputs.is_home, float),
        np.asarray(inputs.rest_days, float),
        np.asarray(inputs.teammates_out_minutes, float),
        np.asarray(inputs.role_index, float),
    ]
    return np.column_stack(columns).astype(np.float64)


def _lag_matrix(values: np.ndarray, group: np.ndarray, width: int) -> np.ndarray:
    """Row i: the previous ``width`` values of its group (rows sorted by group, then time)."""
    n = len(values)
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    lengths = np.diff(np.r_[starts, n])
    position = np.arange(n) - np.repeat(starts, lengths)
    lags = np.full((n, width), np.nan)
    for lag in range(1, width + 1):
        valid = position >= lag
        lags[valid, lag - 1] = values[np.flatnonzero(valid) - lag]
    return lags


def role_index(sport: str, roles) -> np.ndarray:
    """Each role's position in the sport's roles; NaN where the role is not recorded (empty or
    None: the importers allow it, and both members treat a missing feature as such)."""
    known = get_sport(sport).roles
    lookup = {role: float(index) for index, role in enumerate(known)}
    lookup[""] = lookup["None"] = np.nan
    try:
        return np.array([lookup[str(role)] for role in np.atleast_1d(roles)], float)
    except KeyError as error:
        raise ValueError(f"unknown role {error.args[0]!r} for {sport} (known: {known})") from None


@dataclass(frozen=True)
class _TeamGames:
    """One row per (game, team) with that team's allowed total of a stat and the game pace."""

    game_id: np.ndarray
    team_id: np.ndarray
    game_date: np.ndarray
    allowed: np.ndarray
    pace: np.ndarray


def _team_games(stat_lines: StatLines, games: Games, stat: str) -> _TeamGames:
    # The team "allows" what the players facing it produce: group rows by (game, opponent).
    keys = np.stack([stat_lines.game_id, stat_lines.opponent_id], axis=1)
    unique_keys, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    allowed = np.bincount(inverse, weights=stat_lines.stats[stat], minlength=len(unique_keys))
    first_row = np.full(len(unique_keys), -1)
    first_row[inverse[::-1]] = np.arange(len(inverse))[::-1]
    pace_by_game = dict(zip(games.game_id.tolist(), games.pace.tolist(), strict=True))
    return _TeamGames(
        game_id=unique_keys[:, 0],
        team_id=unique_keys[:, 1],
        game_date=stat_lines.game_date[first_row],
        allowed=allowed,
        pace=np.array([pace_by_game[game] for game in unique_keys[:, 0].tolist()], float),
    )


def _minutes_ewm(minutes_newest_first) -> float:
    return float(_ewm(np.asarray(minutes_newest_first, float).reshape(1, -1))[0])


def _teammates_out(roster_minutes: dict, recent_rosters, active: set) -> float:
    """Usual minutes (EWM) of players from the team's recent games who are not active now."""
    recent = set().union(*recent_rosters) if recent_rosters else set()
    return float(sum(_minutes_ewm(roster_minutes[player]) for player in recent - active if roster_minutes.get(player)))


def _teammates_out_column(stat_lines: StatLines) -> np.ndarray:
    """``teammates_out_minutes`` for every row, walking the season date by date so only games
    strictly before a date feed its value."""
    out = np.zeros(len(stat_lines))
    order = np.lexsort((stat_lines.team_id, stat_lines.game_date))
    recent_rosters: dict[tuple, deque] = {}
    player_minutes: dict = {}
    dates = stat_lines.game_date[order]
    boundaries = np.r_[0, np.flatnonzero(dates[1:] != dates[:-1]) + 1, len(order)]
    for start, stop in zip(boundaries[:-1], boundaries[1:], strict=True):
        rows = order[start:stop]
        by_team: dict[tuple, list[int]] = {}
        for row in rows.tolist():
            key = (stat_lines.season[row], stat_lines.team_id[row])
            by_team.setdefault(key, []).append(row)
        for key, team_rows in by_team.items():
            active = {stat_lines.player_id[row] for row in team_rows}
            vacated = _teammates_out(player_minutes, recent_rosters.get(key), active)
            out[team_rows] = vacated
        for key, team_rows in by_team.items():
            recent_rosters.setdefault(key, deque(maxlen=ROSTER_LOOKBACK_GAMES)).append(
                {stat_lines.player_id[row] for row in team_rows}
            )
            for row in team_rows:
                history = player_minutes.setdefault(stat_lines.player_id[row], deque(maxlen=HISTORY_WINDOW))
                history.appendleft(float(stat_lines.minutes[row]))
    return out


def build_game_features(sport: str, stat: str, stat_lines: StatLines, games: Games) -> np.ndarray:
    """Training-time features for every row of ``stat_lines`` (vectorised over rows)."""
    n = len(stat_lines)
    order = np.lexsort((stat_lines.game_date, stat_lines.player_id))
    player_sorted = stat_lines.player_id[order]
    stat_history = np.empty((n, HISTORY_WINDOW))
    minutes_history = np.empty((n, HISTORY_WINDOW))
    stat_history[order] = _lag_matrix(stat_lines.stats[stat][order].astype(float), player_sorted, HISTORY_WINDOW)
    minutes_history[order] = _lag_matrix(stat_lines.minutes[order].astype(float), player_sorted, HISTORY_WINDOW)
    date_days = stat_lines.game_date.astype("datetime64[D]").astype(float)
    previous_date = np.empty(n)
    previous_date[order] = _lag_matrix(date_days[order], player_sorted, 1)[:, 0]
    games_played = np.empty(n)
    games_played[order] = (~np.isnan(_lag_matrix(np.zeros(n), player_sorted, int(GAMES_PLAYED_CAP)))).sum(axis=1)

    team_games = _team_games(stat_lines, games, stat)
    team_order = np.lexsort((team_games.game_date, team_games.team_id))
    allowed_lags = np.empty((len(team_order), TEAM_WINDOW))
    pace_lags = np.empty((len(team_order), TEAM_WINDOW))
    allowed_lags[team_order] = _lag_matrix(team_games.allowed[team_order], team_games.team_id[team_order], TEAM_WINDOW)
    pace_lags[team_order] = _lag_matrix(team_games.pace[team_order], team_games.team_id[team_order], TEAM_WINDOW)
    team_game_keys = zip(team_games.game_id.tolist(), team_games.team_id.tolist(), strict=True)
    index = {key: row for row, key in enumerate(team_game_keys)}
    game_ids = stat_lines.game_id.tolist()
    own_rows = np.array([index[key] for key in zip(game_ids, stat_lines.team_id.tolist(), strict=True)])
    opponent_rows = np.array([index[key] for key in zip(game_ids, stat_lines.opponent_id.tolist(), strict=True)])
    inputs = GameFeatureInputs(
        stat_history=stat_history,
        minutes_history=minutes_history,
        games_played_prior=games_played,
        days_since_last_game=date_days - previous_date,
        opponent_allowed_history=allowed_lags[opponent_rows],
        team_pace_history=pace_lags[own_rows],
        opponent_pace_history=pace_lags[opponent_rows],
        is_home=stat_lines.is_home,
        rest_days=stat_lines.rest_days,
        teammates_out_minutes=_teammates_out_column(stat_lines),
        role_index=role_index(sport, stat_lines.role),
    )
    return compute_game_features(inputs)


@dataclass(frozen=True)
class GameHistory:
    """What is known before one game, oldest first: the serving-side input for one row."""

    stat_values: np.ndarray
    minutes: np.ndarray
    game_dates: np.ndarray
    opponent_allowed: np.ndarray
    team_pace: np.ndarray
    opponent_pace: np.ndarray
    game_date: np.datetime64
    is_home: bool
    rest_days: int
    teammates_out_minutes: float
    role: str
    # Games played before this one, when the arrays above are cut to the recent window.
    games_played_prior: int | None = None


def _newest_first(values, width: int) -> np.ndarray:
    recent = np.asarray(values, float)[::-1][:width]
    return np.concatenate([recent, np.full(width - len(recent), np.nan)])


def serving_game_features(sport: str, histories: list[GameHistory]) -> np.ndarray:
    """Features for a batch of upcoming games, one GameHistory each (no pandas)."""
    if not histories:
        raise ValueError("serving_game_features needs at least one GameHistory")
    last_dates = [
        np.datetime64(h.game_dates[-1], "D").astype(float) if len(h.game_dates) else np.nan for h in histories
    ]
    inputs = GameFeatureInputs(
        stat_history=np.array([_newest_first(h.stat_values, HISTORY_WINDOW) for h in histories]),
        minutes_history=np.array([_newest_first(h.minutes, HISTORY_WINDOW) for h in histories]),
        games_played_prior=np.array(
            [len(h.stat_values) if h.games_played_prior is None else h.games_played_prior for h in histories], float
        ),
        days_since_last_game=np.array([np.datetime64(h.game_date, "D").astype(float) for h in histories])
        - np.array(last_dates),
        opponent_allowed_history=np.array([_newest_first(h.opponent_allowed, TEAM_WINDOW) for h in histories]),
        team_pace_history=np.array([_newest_first(h.team_pace, TEAM_WINDOW) for h in histories]),
        opponent_pace_history=np.array([_newest_first(h.opponent_pace, TEAM_WINDOW) for h in histories]),
        is_home=np.array([h.is_home for h in histories], float),
        rest_days=np.array([h.rest_days for h in histories], float),
        teammates_out_minutes=np.array([h.teammates_out_minutes for h in histories], float),
        role_index=role_index(sport, [h.role for h in histories]),
    )
    return compute_game_features(inputs)


def _team_history(stat_lines: StatLines, games: Games, stat: str, team_id, before) -> tuple[np.ndarray, np.ndarray]:
    """(allowed totals, game pace) of ``team_id``'s games strictly before ``before``, oldest first."""
    facing = (stat_lines.opponent_id == team_id) & (stat_lines.game_date < before)
    game_ids, inverse = np.unique(stat_lines.game_id[facing], return_inverse=True)
    allowed = np.bincount(inverse.ravel(), weights=stat_lines.stats[stat][facing], minlength=len(game_ids))
    game_rows = np.searchsorted(games.game_id, game_ids)
    order = np.argsort(games.game_date[game_rows], kind="stable")
    return allowed[order], games.pace[game_rows][order]


def game_history_from_logs(
    stat_lines: StatLines,
    games: Games,
    *,
    stat: str,
    player_id,
    team_id,
    opponent_id,
    game_date,
    is_home: bool,
    rest_days: int,
    role: str,
    active_player_ids,
    season: int | None = None,
) -> GameHistory:
    """Assemble a GameHistory from columnar logs, using only rows strictly before ``game_date``:
    the one builder of a player's history for serving (and for tests of training's features).

    ``games`` must be sorted by ``game_id``. ``active_player_ids`` is the team's lineup for
    the game (known before it starts). ``season`` is the game's season (default: the season of
    the team's latest game up to ``game_date`` in the logs, which a season opener not yet
    played would take from the season before)."""
    game_date = np.datetime64(game_date, "D")
    past = stat_lines.game_date < game_date
    mine = np.flatnonzero(past & (stat_lines.player_id == player_id))
    mine = mine[np.argsort(stat_lines.game_date[mine], kind="stable")]
    opponent_allowed, opponent_pace = _team_history(stat_lines, games, stat, opponent_id, game_date)
    team_facing = (stat_lines.opponent_id == team_id) & past
    team_game_ids = np.unique(stat_lines.game_id[team_facing])
    team_rows = np.searchsorted(games.game_id, team_game_ids)
    team_pace = games.pace[team_rows][np.argsort(games.game_date[team_rows], kind="stable")]

    season = _season_of(stat_lines, team_id, game_date) if season is None else season
    own = np.flatnonzero(past & (stat_lines.team_id == team_id) & (stat_lines.season == season))
    recent_games = np.unique(stat_lines.game_date[own])[-ROSTER_LOOKBACK_GAMES:]
    recent_rosters = [set(stat_lines.player_id[own[stat_lines.game_date[own] == day]].tolist()) for day in recent_games]
    roster_minutes = {}
    for player in set().union(*recent_rosters) if recent_rosters else set():
        rows = np.flatnonzero(past & (stat_lines.player_id == player))
        rows = rows[np.argsort(stat_lines.game_date[rows], kind="stable")][-HISTORY_WINDOW:]
        roster_minutes[player] = stat_lines.minutes[rows][::-1].astype(float).tolist()
    teammates_out = _teammates_out(roster_minutes, recent_rosters, set(np.asarray(active_player_ids).tolist()))
    return GameHistory(
        stat_values=stat_lines.stats[stat][mine].astype(float),
        minutes=stat_lines.minutes[mine].astype(float),
        game_dates=stat_lines.game_date[mine],
        opponent_allowed=opponent_allowed,
        team_pace=team_pace,
        opponent_pace=opponent_pace,
        game_date=game_date,
        is_home=bool(is_home),
        rest_days=int(rest_days),
        teammates_out_minutes=teammates_out,
        role=role,
    )


def _season_of(stat_lines: StatLines, team_id, game_date) -> int:
    """The season of a team's game on ``game_date``: the season of its latest game up to then."""
    rows = np.flatnonzero((stat_lines.team_id == team_id) & (stat_lines.game_date <= game_date))
    if len(rows) == 0:
        return -1
    return int(stat_lines.season[rows[np.argmax(stat_lines.game_date[rows])]])


# ----------------------------------------------------------------------------------------
# Season props (MLB)


# The other stats of a role whose rates are season features beside the predicted stat's own
# history: a batter's doubles, walks, strikeouts, hits and speed say something about his
# power (and his home runs about his hits) that one stat's three seasons measure noisily.
# Chosen on the MLB rolling-origin backtests before 2024 (docs/predictions.md). Pitchers: none.
SEASON_COMPONENTS: dict[str, tuple[str, ...]] = {
    "batter": ("hits", "home_runs", "doubles", "triples", "walks", "batter_strikeouts", "stolen_bases"),
    "pitcher": (),
}


def season_components(stat: str) -> tuple[str, ...]:
    """The component stats whose rates are features of ``stat``'s season props, in order."""
    role = get_sport("mlb").stat(stat).roles[0]
    return tuple(code for code in SEASON_COMPONENTS[role] if code != stat)


def season_feature_names(stat: str) -> tuple[str, ...]:
    lags = range(1, SEASON_LAGS + 1)
    return (
        *(f"opportunities_lag{lag}" for lag in lags),
        *(f"{stat}_rate_lag{lag}" for lag in lags),
        f"{stat}_lag1",
        "age",
        "seasons_with_history",
        f"marcel_{stat}_rate",
        "marcel_opportunities",
        f"marcel_{stat}",
        f"{stat}_rate_over_league_lag1",
        *(f"{code}_rate_weighted" for code in season_components(stat)),
    )


def season_schema(stat: str) -> FeatureSchema:
    return FeatureSchema.from_names(season_feature_names(stat))


def feature_schema_for(sport: str, stat: str) -> FeatureSchema:
    """The schema this code computes for a sport/stat's props (a model trained on another
    cannot be served: its columns would not line up)."""
    return season_schema(stat) if get_sport(sport).horizon == "season" else game_schema(stat)


def feature_schema_current(sport: str, stat: str, version: str | None) -> bool:
    """Whether a model trained with feature schema ``version`` can be served by this code
    (``feature_schema_for``): one trained on other features cannot."""
    return version == feature_schema_for(sport, stat).version


@dataclass(frozen=True)
class SeasonFeatureInputs:
    """Per row: the last three seasons (column 0 = last season; zeros for no play).
    ``components``: the counts of ``season_components(stat)`` in those seasons, shape
    (n, k, 3), NaN where a season's count was not recorded (that season is then left out of
    the component's rate)."""

    counts: np.ndarray  # (n, 3)
    opportunities: np.ndarray  # (n, 3)
    league_rates: np.ndarray  # (n, 3)
    age: np.ndarray
    marcel: MarcelConfig
    components: np.ndarray  # (n, k, 3)


def compute_season_features(inputs: SeasonFeatureInputs) -> np.ndarray:
    counts = np.atleast_2d(np.asarray(inputs.counts, float))
    opportunities = np.atleast_2d(np.asarray(inputs.opportunities, float))
    league_rates = np.atleast_2d(np.asarray(inputs.league_rates, float))
    age = np.asarray(inputs.age, float).reshape(-1)
    played = opportunities > 0
    rates = np.where(played, counts / np.where(played, opportunities, 1.0), np.nan)
    projection = marcel_project(counts, opportunities, league_rates, age, inputs.marcel)
    columns = [
        *opportunities.T,
        *rates.T,
        counts[:, 0],
        age,
        played.sum(axis=1).astype(float),
        projection.rate,
        projection.opportunities,
        projection.count,
        rates[:, 0] / league_rates[:, 0],
        *_weighted_rates(np.asarray(inputs.components, float), opportunities, inputs.marcel.season_weights),
    ]
    return np.column_stack(columns).astype(np.float64)


def _weighted_rates(components: np.ndarray, opportunities: np.ndarray, season_weights) -> list[np.ndarray]:
    """Per component, sum_s w_s count_s / sum_s w_s opportunities_s over the seasons played
    with the count recorded; NaN without one."""
    components = components.reshape(len(opportunities), -1, opportunities.shape[1])
    used = (opportunities[:, None, :] > 0) & np.isfinite(components)
    weights = np.asarray(season_weights, float)
    numerator = np.where(used, components, 0.0) @ weights
    denominator = np.where(used, opportunities[:, None, :], 0.0) @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(denominator > 0, numerator / denominator, np.nan)
    return list(rates.T)
