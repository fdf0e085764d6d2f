"""A seeded simulator of NBA, NFL and NHL game logs and book prop lines.

The data A1 shows for these three sports is simulated and labelled so. The generative model
is built so that the things a real prop model must handle are present and matter:

League and schedule
    ``n_teams`` teams play ``games_per_team`` games per season for ``n_seasons`` seasons.
    NBA and NHL teams play on random days (so back-to-backs happen); NFL teams play weekly,
    mostly on Sundays, with a few Thursday and Monday games and one bye week each. Home or
    away is drawn per game. ``rest_days`` is the number of full days off since the team's
    previous game (0 = back-to-back), capped at 10.

Teams
    Each team has a pace (possessions, plays or shot attempts relative to the league) and,
    per stat, a defence multiplier (how much of that stat it allows). Both are log-normal
    and persist between seasons with partial reversion to the league mean.

Players, roles and skill
    Rosters have roles: NBA starters and bench; NFL QB1/QB2, two RBs, three WRs and a TE;
    NHL four forward lines, three defence pairs and two goalies. Each player has a base
    playing time and a per-stat skill (per-minute rates in the NBA and NHL, shares and
    efficiencies in the NFL), log-normal around the role's mean. Skill reverts 20 % to the
    role mean and takes a random step between seasons, and drifts in small random-walk steps
    from game to game, so recent form carries information.

Absences
    Before each team game a healthy player gets injured with a small probability and then
    misses a geometric number of games; NBA starters sometimes rest on back-to-backs, and
    NHL backup goalies usually start the second night of a back-to-back. A player who sits
    out has no stat line. Teammates absorb the absence: playing time is renormalised within
    the role group (a team still plays 240 NBA minutes), usage rises with the share of
    playing time that is missing, NFL target and carry shares renormalise over the active
    receivers and backs, and a backup QB lowers his receivers' production.

The stat's true distribution (the oracle)
    For each player-game the mean of every stat is
    skill x expected playing time x game pace x opponent defence x home (+2 %) / away (-2 %)
    x back-to-back or short-week penalty (-3 %) x usage boost. The stat is drawn from its
    family (engine.sports: negative binomial for counts, a discretised normal for yardage)
    with that mean and a role-specific dispersion. The draws of one player-game are tied
    together by a Gaussian copula: one latent shock z0 moves his minutes and, with
    correlation 0.5, each stat, so every stat's marginal is exactly the oracle distribution
    while minutes and stats move together. ``Props.oracle_mean/oracle_dispersion`` hold
    these exact parameters, so P_oracle(over/under/push) at the line is known.

Book lines
    Two books ("SimBook North", "SimBook South") post props for players whose stat the book
    expects to be large enough to be worth a line. A book's estimate of the mean is the true
    mean times a log-normal error (6 % and 9 %); its line is its own estimate of the median:
    the half-point line nearest to its 50/50 point, or (15 % of props) the integer median,
    where pushes can happen. Prices are the book's P(over | no push) with a proportional
    4.5 % overround, rounded to 0.01 in decimal odds. Edges therefore exist and come from the
    book's error. They are not rare: priced by the oracle, 17-36 % of props (seed 0) hold an
    edge of 5 % or more. Priced by the ensemble, which knows only what a bettor could, 5.5 %
    of test props do (bench/quality.py); docs/predictions.md says why the books are not sharper.

Names are generated and clearly fake ("Sim NBA Team 03", "Sim Player 0123").

Calendar
    Seasons start on fixed days (NBA 22 October, NHL 8 October, NFL the first Sunday on or
    after 7 September). ``league_as_of(config, day)`` lays the seasons out so the last one is
    the season under way on ``day`` and keeps only what was played before it: the league as
    it stands on that morning, with no game from the future. The demo stores that league.

One module past ~500 lines on purpose: it is one generative model drawn from one seeded
stream, so the order of its draws is the data (the demo's rows depend on it); schedule,
players, stat lines and book lines stay together, read top to bottom in the order they draw.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from predictions.engine.distributions import ppf, prob_over_under_push
from predictions.engine.logs import Games, Props, StatLines, price_two_way, rest_days
from predictions.engine.sports import get_sport

SIMULATED_SPORTS = ("nba", "nfl", "nhl")
BOOKS = ("SimBook North", "SimBook South")
BOOK_ERROR_SD = (0.06, 0.09)
BOOK_OVERROUND = 0.045
INTEGER_LINE_SHARE = 0.15
COPULA_CORRELATION = 0.5

# The smallest book-expected mean for which a book posts a line.
PROP_THRESHOLDS = {
    "nba": {"points": 6.0, "rebounds": 2.5, "assists": 1.5, "threes": 0.8},
    "nfl": {"passing_yards": 150.0, "rushing_yards": 20.0, "receptions": 1.5, "receiving_yards": 15.0},
    "nhl": {"shots_on_goal": 1.2, "points": 0.3, "saves": 15.0},
}


@dataclass(frozen=True)
class SimConfig:
    sport: str
    n_seasons: int = 3
    games_per_team: int = 60
    n_teams: int = 12
    first_season: int = 2023
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sport not in SIMULATED_SPORTS:
            raise ValueError(f"sport {self.sport!r} is not simulated (choose from {SIMULATED_SPORTS})")
        if self.n_teams < 2 or self.n_teams % 2:
            raise ValueError("n_teams must be an even number >= 2")
        if self.n_seasons < 1 or self.games_per_team < 1:
            raise ValueError("n_seasons and games_per_team must be >= 1")


@dataclass(frozen=True)
class SimTeams:
    team_id: np.ndarray
    name: np.ndarray
    abbreviation: np.ndarray


@dataclass(frozen=True)
class SimPlayers:
    player_id: np.ndarray
    name: np.ndarray
    team_id: np.ndarray
    role: np.ndarray


@dataclass(frozen=True)
class SimLeague:
    sport: str
    config: SimConfig
    teams: SimTeams
    players: SimPlayers
    games: Games
    stat_lines: StatLines
    props: Props


@dataclass(frozen=True)
class _RosterSlot:
    role: str
    base_minutes: float
    # Log-mean of each stat's skill for this slot, in catalogue stat order.
    skill_mean: tuple[float, ...]
    skill_sd: tuple[float, ...]
    # NFL carry share (RBs) and target share (RB, WR, TE) weights; unused elsewhere.
    carry_share: float = 0.0
    target_share: float = 0.0


def _nba_slots() -> list[_RosterSlot]:
    # Per-minute rates: a 32-minute starter averages about 16 points, 6 rebounds, 3.5 assists.
    starter = _RosterSlot(
        "starter", 32.0, (np.log(0.50), np.log(0.19), np.log(0.11), np.log(0.05)), (0.30, 0.45, 0.55, 0.60)
    )
    bench = _RosterSlot(
        "bench", 17.0, (np.log(0.42), np.log(0.18), np.log(0.09), np.log(0.04)), (0.30, 0.45, 0.55, 0.60)
    )
    return [starter] * 5 + [bench] * 6


def _nfl_slots() -> list[_RosterSlot]:
    # Stat columns: passing (QB level), rushing (QB level / RB yards-per-share), receptions
    # (catch rate on targets), receiving (yards per reception).
    def slot(role, minutes, skill_mean, carry_share, target_share):
        # QB rushing is a level that varies a lot between QBs (pocket passers to runners);
        # for backs it is an efficiency on top of the carry share, which varies less.
        rushing_sd = 0.45 if role == "QB" else 0.15
        return _RosterSlot(
            role, minutes, tuple(np.log(skill_mean)), (0.12, rushing_sd, 0.10, 0.12), carry_share, target_share
        )

    return [
        slot("QB", 60.0, (1.0, 14.0, 1.0, 1.0), 0.0, 0.0),
        slot("QB", 0.0, (0.78, 9.0, 1.0, 1.0), 0.0, 0.0),
        slot("RB", 36.0, (1.0, 1.0, 1.0, 7.5), 0.62, 0.10),
        slot("RB", 24.0, (1.0, 0.95, 1.0, 7.0), 0.38, 0.06),
        slot("WR", 54.0, (1.0, 1.0, 1.0, 12.5), 0.0, 0.25),
        slot("WR", 50.0, (1.0, 1.0, 1.0, 12.0), 0.0, 0.19),
        slot("WR", 38.0, (1.0, 1.0, 1.0, 11.5), 0.0, 0.13),
        slot("TE", 45.0, (1.0, 1.0, 1.0, 10.0), 0.0, 0.15),
    ]


def _nhl_slots() -> list[_RosterSlot]:
    # Stat columns: shots per minute, points per minute, save percentage (goalies).
    slots = []
    for line_minutes, level in ((18.0, 1.25), (16.0, 1.05), (13.0, 0.85), (10.0, 0.7)):
        slots += [
            _RosterSlot("F", line_minutes, (np.log(0.14 * level), np.log(0.045 * level), 0.0), (0.25, 0.35, 0.0))
        ] * 3
    for pair_minutes, level in ((23.0, 1.2), (20.0, 1.0), (16.0, 0.8)):
        slots += [
            _RosterSlot("D", pair_minutes, (np.log(0.09 * level), np.log(0.025 * level), 0.0), (0.30, 0.40, 0.0))
        ] * 2
    slots += [_RosterSlot("G", 60.0, (0.0, 0.0, np.log(0.905)), (0.0, 0.0, 0.01))] * 2
    return slots


_SLOTS = {"nba": _nba_slots, "nfl": _nfl_slots, "nhl": _nhl_slots}
_PACE_UNITS = {"nba": 100.0, "nfl": 63.0, "nhl": 58.0}
_INJURY = {"nba": (0.025, 4.0), "nfl": (0.03, 2.0), "nhl": (0.02, 4.0)}
_MINUTES_SD = {"nba": 0.15, "nfl": 0.10, "nhl": 0.10}
_MINUTES_CAP = {"nba": 44.0, "nfl": 60.0, "nhl": 28.0}


def role_dispersion(sport: str, role: str) -> np.ndarray:
    """Role-specific dispersion per stat in catalogue order (alpha for negbin, phi for normal)."""
    if sport == "nba":
        scale = 1.6 if role == "bench" else 1.0
        return np.array([0.03, 0.06, 0.10, 0.20]) * scale
    if sport == "nfl":
        return np.array([22.0, 10.0 if role == "QB" else 14.0, 0.15 if role == "RB" else 0.08, 18.0])
    return np.array([0.10, 0.20, 0.025])


def _season_start(sport: str, season: int) -> np.datetime64:
    if sport == "nfl":
        start = np.datetime64(f"{season}-09-07")
        # 1970-01-04 was a Sunday: move forward to the next Sunday.
        offset = (3 - (start.astype("int64") % 7)) % 7
        return start + np.timedelta64(int(offset), "D")
    return np.datetime64(f"{season}-10-{22 if sport == 'nba' else 8:02d}")


def season_under_way(sport: str, day) -> int:
    """The season under way on ``day``, or the last one finished: the latest season that
    started on or before it."""
    day = np.datetime64(day, "D")
    year = int(day.astype("datetime64[Y]").astype(int)) + 1970
    return year if _season_start(sport, year) <= day else year - 1


def league_as_of(config: SimConfig, day) -> SimLeague:
    """The league of ``config`` laid out so its last season is the one under way on ``day``
    (``first_season`` moves accordingly), cut to the games before ``day``: their stat lines
    and props, and every team and player. The seasons are simulated whole and then cut, so a
    later ``day`` in the same season keeps every earlier game as it was and adds the ones
    since."""
    day = np.datetime64(day, "D")
    first_season = season_under_way(config.sport, day) - config.n_seasons + 1
    league = simulate_league(replace(config, first_season=first_season))
    return replace(
        league,
        config=replace(league.config, first_season=first_season),
        games=league.games.take(league.games.game_date < day),
        stat_lines=league.stat_lines.take(league.stat_lines.game_date < day),
        props=league.props.take(league.props.game_date < day),
    )


def _daily_schedule(rng, n_teams: int, games_per_team: int, start) -> list[tuple]:
    played = np.zeros(n_teams, int)
    played_yesterday = np.zeros(n_teams, bool)
    games = []
    season_days = int(games_per_team * 2.2) + 10
    day = 0
    while played.min() < games_per_team:
        remaining_days = max(season_days - day, 1)
        p_play = np.clip((games_per_team - played) / remaining_days, 0.0, 1.0)
        # Leagues avoid back-to-backs: a team that played yesterday rarely plays today, which
        # leaves about one game in six on the second night.
        p_play = np.where(played_yesterday, 0.35 * p_play, 1.25 * p_play)
        played_yesterday[:] = False
        playing = np.flatnonzero(rng.random(n_teams) < p_play)
        playing = rng.permutation(playing)
        if len(playing) % 2:
            resting = np.setdiff1d(np.arange(n_teams), playing)
            # The team with the fewest games fills the odd slot, so the season always ends.
            playing = np.append(playing, resting[np.argmin(played[resting])])
        for home, away in playing.reshape(-1, 2):
            if rng.random() < 0.5:
                home, away = away, home
            games.append((start + np.timedelta64(day, "D"), int(home), int(away)))
            played[[home, away]] += 1
            played_yesterday[[home, away]] = True
        day += 1
    return games


def _weekly_schedule(rng, n_teams: int, games_per_team: int, start) -> list[tuple]:
    n_weeks = games_per_team + 1
    bye_week = np.zeros(n_teams, int)
    bye_order = rng.permutation(n_teams)
    for pair_index in range(n_teams // 2):
        week = 1 + pair_index % max(n_weeks - 2, 1)
        bye_week[bye_order[2 * pair_index : 2 * pair_index + 2]] = week
    games = []
    for week in range(n_weeks):
        teams = rng.permutation(np.flatnonzero(bye_week != week))
        for index, (home, away) in enumerate(teams.reshape(-1, 2)):
            if rng.random() < 0.5:
                home, away = away, home
            # One Thursday and one Monday game a week, the rest on Sunday.
            weekday_offset = {0: -3, 1: 1}.get(index, 0)
            games.append((start + np.timedelta64(7 * week + weekday_offset, "D"), int(home), int(away)))
    games.sort(key=lambda game: game[0])
    return games


class _League:
    """Mutable state of the generative model while a league is being simulated."""

    def __init__(self, config: SimConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        self.sport = config.sport
        self.stat_codes = [stat.code for stat in get_sport(config.sport).stats]
        slots = _SLOTS[config.sport]()
        n_slots = len(slots)
        n_teams = config.n_teams
        self.n_players = n_teams * n_slots
        self.team = np.repeat(np.arange(n_teams), n_slots)
        self.depth = np.tile(np.arange(n_slots), n_teams)
        self.role = np.array([slot.role for slot in slots] * n_teams)
        self.skill_mean = np.array([slot.skill_mean for slot in slots] * n_teams)
        self.skill_sd = np.array([slot.skill_sd for slot in slots] * n_teams)
        base = np.array([slot.base_minutes for slot in slots] * n_teams)
        minute_noise = np.exp(rng.normal(0.0, 0.12, self.n_players)) if config.sport == "nba" else 1.0
        self.base_minutes = base * minute_noise
        share_noise = np.exp(rng.normal(0.0, 0.2, self.n_players))
        self.carry_share = np.array([slot.carry_share for slot in slots] * n_teams) * share_noise
        self.target_share = np.array([slot.target_share for slot in slots] * n_teams) * share_noise
        self.log_skill = self.skill_mean + self.skill_sd * rng.standard_normal(self.skill_mean.shape)
        n_stats = len(self.stat_codes)
        self.log_pace = rng.normal(0.0, 0.04, n_teams)
        self.log_defence = rng.normal(0.0, 0.06, (n_teams, n_stats))
        self.injured_games_left = np.zeros(self.n_players, int)
        self.dispersion = np.array([role_dispersion(config.sport, role) for role in self.role])
        self.rosters = [np.flatnonzero(self.team == team) for team in range(n_teams)]

    def new_season(self) -> None:
        rng = self.rng
        self.log_skill = (
            self.skill_mean
            + 0.8 * (self.log_skill - self.skill_mean)
            + 0.5 * self.skill_sd * rng.standard_normal(self.log_skill.shape)
        )
        self.log_pace = 0.5 * self.log_pace + rng.normal(0.0, 0.035, self.log_pace.shape)
        self.log_defence = 0.5 * self.log_defence + rng.normal(0.0, 0.05, self.log_defence.shape)
        self.injured_games_left[:] = 0

    def _available(self, roster: np.ndarray) -> np.ndarray:
        onset, mean_games = _INJURY[self.sport]
        healthy = self.injured_games_left[roster] == 0
        new_injury = healthy & (self.rng.random(len(roster)) < onset)
        self.injured_games_left[roster[new_injury]] = self.rng.geometric(1.0 / mean_games, new_injury.sum())
        available = self.injured_games_left[roster] == 0
        self.injured_games_left[roster[~available]] -= 1
        return available

    def side(self, team: int, opponent: int, is_home: bool, rest_days: int):
        """Who plays for ``team`` and each player's expected minutes and stat means."""
        roster = self.rosters[team]
        available = self._available(roster)
        self.log_skill[roster] += self.rng.normal(0.0, 0.006, self.log_skill[roster].shape)
        pace = np.exp(self.log_pace[team] + self.log_pace[opponent])
        defence = np.exp(self.log_defence[opponent])
        context = (1.02 if is_home else 0.98) * (0.97 if rest_days <= 3 and self.sport == "nfl" else 1.0)
        if self.sport != "nfl" and rest_days == 0:
            context *= 0.97
        if self.sport == "nba":
            return self._nba_side(roster, available, pace, defence, context, rest_days)
        if self.sport == "nfl":
            return self._nfl_side(roster, available, pace, defence, context)
        return self._nhl_side(roster, available, pace, defence, context, rest_days, team)

    def _nba_side(self, roster, available, pace, defence, context, rest_days):
        starters = self.role[roster] == "starter"
        # Coaches rest some starters on the second night of a back-to-back.
        if rest_days == 0:
            available &= ~(starters & (self.rng.random(len(roster)) < 0.12))
        playing = roster[available]
        base = self.base_minutes[roster]
        active_base = base[available].sum()
        minutes = np.minimum(self.base_minutes[playing] * min(1.3, 240.0 / active_base), 42.0)
        usage = (base.sum() / active_base) ** 0.3
        means = np.exp(self.log_skill[playing]) * minutes[:, None] * pace * defence * context * usage
        return playing, minutes, means

    def _nfl_side(self, roster, available, pace, defence, context):
        depth = self.depth[roster]
        qb = roster[0] if available[0] else roster[1]
        qb_level = np.exp(self.log_skill[qb, 0])
        skill = np.exp(self.log_skill)
        rbs = roster[(depth >= 2) & (depth <= 3) & available]
        receivers = roster[(depth >= 2) & available]
        all_receivers = roster[depth >= 2]
        playing = np.concatenate([[qb], receivers])
        n = len(playing)
        means = np.full((n, 4), np.nan)
        minutes = np.empty(n)
        minutes[0] = 60.0
        means[0, 0] = 230.0 * qb_level * pace * defence[0] * context
        means[0, 1] = skill[qb, 1] * pace * defence[1] * context
        team_rush = 95.0 * pace * defence[1] * context
        rb_share = self.carry_share[rbs] / max(self.carry_share[rbs].sum(), 1e-9)
        receptions_team = 20.0 * pace * defence[2] * context * np.sqrt(qb_level)
        target_share = 0.88 * self.target_share[receivers] / self.target_share[receivers].sum()
        for row, player in enumerate(receivers, start=1):
            if player in rbs:
                means[row, 1] = team_rush * rb_share[list(rbs).index(player)] * skill[player, 1]
            means[row, 2] = receptions_team * target_share[row - 1] * skill[player, 2]
            means[row, 3] = means[row, 2] * skill[player, 3] * np.sqrt(qb_level) * defence[3]
        missing = self.target_share[all_receivers].sum() / self.target_share[receivers].sum()
        minutes[1:] = np.minimum(self.base_minutes[receivers] * np.sqrt(missing), 60.0)
        return playing, minutes, means

    def _nhl_side(self, roster, available, pace, defence, context, rest_days, team):
        role = self.role[roster]
        goalies = roster[role == "G"]
        starter_goalie = goalies[0]
        backup_night = (rest_days == 0 and self.rng.random() < 0.8) or self.rng.random() < 0.12
        if backup_night or not available[role == "G"][0]:
            starter_goalie = goalies[1]
        skaters_available = available & (role != "G")
        minutes_parts, playing_parts = [], []
        for group in ("F", "D"):
            in_group = role == group
            active = in_group & skaters_available
            scale = self.base_minutes[roster[in_group]].sum() / max(self.base_minutes[roster[active]].sum(), 1e-9)
            playing_parts.append(roster[active])
            minutes_parts.append(np.minimum(self.base_minutes[roster[active]] * scale, _MINUTES_CAP["nhl"]))
        skaters = np.concatenate(playing_parts)
        playing = np.concatenate([skaters, [starter_goalie]])
        minutes = np.concatenate(minutes_parts + [[60.0]])
        means = np.full((len(playing), 3), np.nan)
        rates = np.exp(self.log_skill[skaters, :2])
        means[:-1, 0] = rates[:, 0] * minutes[:-1] * pace * defence[0] * context
        means[:-1, 1] = rates[:, 1] * minutes[:-1] * np.sqrt(pace) * defence[1] * context
        # Saves: the opponent's shot volume against this team's shot suppression, times the
        # goalie's save percentage.
        shots_against = 29.0 * pace * np.exp(self.log_defence[team, 0]) * (2.0 - context)
        means[-1, 2] = shots_against * np.exp(self.log_skill[starter_goalie, 2])
        return playing, minutes, means


def simulate_league(config: SimConfig) -> SimLeague:
    """Simulate a league of ``config.sport``: teams, players, games, stat lines and props."""
    rng = np.random.default_rng(config.seed)
    league = _League(config, rng)
    sport = config.sport
    schedule_fn = _weekly_schedule if sport == "nfl" else _daily_schedule
    game_rows, line_parts = [], []
    game_id = 0
    for season_index in range(config.n_seasons):
        season = config.first_season + season_index
        if season_index:
            league.new_season()
        schedule = schedule_fn(rng, config.n_teams, config.games_per_team, _season_start(sport, season))
        last_played: dict[int, np.datetime64] = {}
        for game_date, home, away in schedule:
            pace_observed = _PACE_UNITS[sport] * np.exp(
                league.log_pace[home] + league.log_pace[away] + rng.normal(0.0, 0.02)
            )
            game_rows.append((game_id, season, game_date, home, away, pace_observed))
            for team, opponent, is_home in ((home, away, True), (away, home, False)):
                previous = last_played.get(team)
                rest = int(rest_days(game_date, previous))
                last_played[team] = game_date
                playing, minutes, means = league.side(team, opponent, is_home, rest)
                n = len(playing)
                line_parts.append(
                    {
                        "game_id": np.full(n, game_id),
                        "player_id": playing,
                        "team_id": np.full(n, team),
                        "opponent_id": np.full(n, opponent),
                        "game_date": np.full(n, game_date),
                        "season": np.full(n, season),
                        "is_home": np.full(n, is_home),
                        "rest_days": np.full(n, rest),
                        "expected_minutes": minutes,
                        "means": means,
                        "dispersion": league.dispersion[playing],
                    }
                )
            game_id += 1
    columns = {key: np.concatenate([part[key] for part in line_parts]) for key in line_parts[0]}
    stat_lines, oracle_mean, oracle_dispersion = _draw_stat_lines(league, columns, rng)
    games = Games(
        game_id=np.array([row[0] for row in game_rows]),
        season=np.array([row[1] for row in game_rows]),
        game_date=np.array([row[2] for row in game_rows], dtype="datetime64[D]"),
        home_team_id=np.array([row[3] for row in game_rows]),
        away_team_id=np.array([row[4] for row in game_rows]),
        pace=np.array([row[5] for row in game_rows]),
    )
    props = _book_props(sport, stat_lines, oracle_mean, oracle_dispersion, rng)
    team_ids = np.arange(config.n_teams)
    teams = SimTeams(
        team_id=team_ids,
        name=np.array([f"Sim {sport.upper()} Team {team:02d}" for team in team_ids]),
        abbreviation=np.array([f"S{team:02d}" for team in team_ids]),
    )
    player_ids = np.arange(league.n_players)
    players = SimPlayers(
        player_id=player_ids,
        name=np.array([f"Sim Player {player:04d}" for player in player_ids]),
        team_id=league.team.copy(),
        role=league.role.copy(),
    )
    return SimLeague(sport, config, teams, players, games, stat_lines, props)


def _draw_stat_lines(league: _League, columns: dict, rng: np.random.Generator):
    """Draw minutes and stats through the Gaussian copula described in the module docstring."""
    sport = league.sport
    n = len(columns["player_id"])
    latent = rng.standard_normal(n)
    minutes_sd = np.where(league.role[columns["player_id"]] == "G", 0.0, _MINUTES_SD[sport])
    minutes = np.minimum(
        columns["expected_minutes"] * np.exp(minutes_sd * latent - minutes_sd**2 / 2), _MINUTES_CAP[sport]
    )
    minutes = np.where(league.role[columns["player_id"]] == "G", 60.0, minutes)
    stats, oracle_mean, oracle_dispersion = {}, {}, {}
    for index, stat in enumerate(get_sport(sport).stats):
        mean = columns["means"][:, index]
        dispersion = columns["dispersion"][:, index]
        applies = ~np.isnan(mean)
        z = COPULA_CORRELATION * latent + np.sqrt(1 - COPULA_CORRELATION**2) * rng.standard_normal(n)
        u = np.clip(special.ndtr(z), 1e-12, 1 - 1e-12)
        values = np.zeros(n)
        values[applies] = ppf(stat.family, mean[applies], dispersion[applies], u[applies])
        stats[stat.code] = values
        oracle_mean[stat.code] = mean
        oracle_dispersion[stat.code] = dispersion
    stat_lines = StatLines(
        game_id=columns["game_id"],
        player_id=columns["player_id"],
        team_id=columns["team_id"],
        opponent_id=columns["opponent_id"],
        game_date=columns["game_date"].astype("datetime64[D]"),
        season=columns["season"],
        role=league.role[columns["player_id"]],
        is_home=columns["is_home"].astype(bool),
        rest_days=columns["rest_days"],
        minutes=np.round(minutes, 1),
        stats=stats,
    )
    return stat_lines, oracle_mean, oracle_dispersion


def book_quote(family: str, book_mean, dispersion, integer_line) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A book's line and two-way prices from its own view of the stat's distribution.

    The line is the half point whose book P(over) is closest to 1/2, or (where
    ``integer_line``) the integer median, so pushes can happen; prices are the book's
    P(over | no push) at that line with the proportional ``BOOK_OVERROUND``.
    """
    book_mean = np.asarray(book_mean, float)
    dispersion = np.asarray(dispersion, float)
    median = ppf(family, book_mean, dispersion, 0.5)
    low, high = median - 0.5, median + 0.5
    p_low = prob_over_under_push(family, book_mean, dispersion, low).p_over
    p_high = prob_over_under_push(family, book_mean, dispersion, high).p_over
    half_line = np.where(np.abs(p_low - 0.5) <= np.abs(p_high - 0.5), low, high)
    line = np.where(integer_line, median, half_line)
    book_view = prob_over_under_push(family, book_mean, dispersion, line)
    p_over_no_push = book_view.p_over / np.maximum(book_view.p_over + book_view.p_under, 1e-12)
    over_odds, under_odds = price_two_way(p_over_no_push, BOOK_OVERROUND)
    return line, over_odds, under_odds


def _book_props(sport, stat_lines: StatLines, oracle_mean, oracle_dispersion, rng) -> Props:
    parts = []
    for stat in get_sport(sport).stats:
        mean = oracle_mean[stat.code]
        dispersion = oracle_dispersion[stat.code]
        n = len(mean)
        book_index = rng.integers(0, len(BOOKS), n)
        book_mean = mean * np.exp(np.array(BOOK_ERROR_SD)[book_index] * rng.standard_normal(n))
        integer_line = rng.random(n) < INTEGER_LINE_SHARE
        posted = np.flatnonzero(~np.isnan(mean) & (book_mean >= PROP_THRESHOLDS[sport][stat.code]))
        book_mean, dispersion_posted = book_mean[posted], dispersion[posted]
        line, over_odds, under_odds = book_quote(stat.family, book_mean, dispersion_posted, integer_line[posted])
        parts.append(
            {
                "game_id": stat_lines.game_id[posted],
                "player_id": stat_lines.player_id[posted],
                "game_date": stat_lines.game_date[posted],
                "stat": np.full(len(posted), stat.code),
                "line": line,
                "over_decimal_odds": over_odds,
                "under_decimal_odds": under_odds,
                "book": np.array(BOOKS)[book_index[posted]],
                "oracle_mean": mean[posted],
                "oracle_dispersion": dispersion[posted],
            }
        )
    columns = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    order = np.lexsort((columns["player_id"], columns["game_id"]))
    return Props(**{key: values[order] for key, values in columns.items()})
