"""The import formats: one ``ImportSpec`` per kind (its columns, their types and bounds, its
natural key), documented in docs/importers.md."""

from __future__ import annotations

from dataclasses import dataclass

from predictions.engine.features import SEASON_COMPONENTS
from predictions.engine.sports import SPORTS, all_stats


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | int | float | bool | date | datetime
    help: str
    required: bool = True  # must be in the header (CSV) or in every object (JSON)
    allow_empty: bool = False
    min_value: float | None = None
    strictly_greater: bool = False
    max_value: float | None = None
    max_length: int = 64
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportSpec:
    kind: str
    columns: tuple[Column, ...]
    # The natural key after resolution: two rows with the same key are duplicates.
    key: tuple[str, ...]
    description: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


def _sport() -> Column:
    return Column("sport", "text", "Sport code: " + ", ".join(SPORTS), max_length=10)


def _ext(name: str, what: str, **kw) -> Column:
    return Column(name, "text", f"The {what}'s id in your data source (unique per sport).", **kw)


def _simulated() -> Column:
    return Column("simulated", "bool", "true for simulated data (default false).", required=False, allow_empty=True)


# Stats a line may carry besides the catalogue's prop stats: the volume that season-long
# features divide by (engine.lahman's opportunities) and the other stats whose rates are
# season features (engine.features.SEASON_COMPONENTS: doubles, triples, walks...).
_MLB_PROP_STATS = frozenset(stat.code for stat in SPORTS["mlb"].stats)
EXTRA_STATS: dict[str, tuple[str, ...]] = {
    "mlb": (
        "plate_appearances",
        "batters_faced",
        *dict.fromkeys(c for codes in SEASON_COMPONENTS.values() for c in codes if c not in _MLB_PROP_STATS),
    )
}
SPORT_STATS: dict[str, frozenset[str]] = {
    code: frozenset([*(stat.code for stat in sport.stats), *EXTRA_STATS.get(code, ())])
    for code, sport in SPORTS.items()
}
STAT_CODES: tuple[str, ...] = tuple(
    dict.fromkeys([*(stat.code for stat in all_stats()), *(s for extra in EXTRA_STATS.values() for s in extra)])
)

SPECS: dict[str, ImportSpec] = {
    spec.kind: spec
    for spec in (
        ImportSpec(
            "teams",
            (
                _sport(),
                _ext("team_id", "team"),
                Column("name", "text", "Team name.", max_length=100),
                Column("abbreviation", "text", "Short name.", required=False, allow_empty=True, max_length=10),
                _simulated(),
            ),
            key=("sport_pk", "team_id"),
            description="Teams, by sport.",
        ),
        ImportSpec(
            "players",
            (
                _sport(),
                _ext("player_id", "player"),
                Column("name", "text", "Player name.", max_length=100),
                _ext("team_id", "current team", required=False, allow_empty=True),
                Column(
                    "role",
                    "text",
                    "Role or position, e.g. starter, QB, F, batter.",
                    required=False,
                    allow_empty=True,
                    max_length=20,
                ),
                Column(
                    "birth_date", "date", "YYYY-MM-DD (optional; MLB uses the age).", required=False, allow_empty=True
                ),
                _simulated(),
            ),
            key=("sport_pk", "player_id"),
            description="Players, by sport; team_id must be an imported team.",
        ),
        ImportSpec(
            "games",
            (
                _sport(),
                _ext("game_id", "game"),
                Column("season", "int", "Season (the year it starts).", min_value=1871, max_value=2100),
                Column("date", "date", "Game day as YYYY-MM-DD (a season: the day its props are priced)."),
                _ext("home_team_id", "home team", allow_empty=True),
                _ext("away_team_id", "away team", allow_empty=True),
                Column(
                    "kind",
                    "text",
                    "game (default) or season, for season-long props.",
                    required=False,
                    allow_empty=True,
                    choices=("game", "season"),
                ),
                Column(
                    "pace",
                    "float",
                    "Possessions/plays/shot attempts (optional).",
                    required=False,
                    allow_empty=True,
                    min_value=0,
                    strictly_greater=True,
                ),
                _simulated(),
            ),
            key=("sport_pk", "game_id"),
            description="Games (or seasons); both teams must be imported teams.",
        ),
        ImportSpec(
            "stats",
            (
                _sport(),
                _ext("game_id", "game"),
                _ext("player_id", "player"),
                Column("team_id", "text", "The player's team in this game (empty for a season).", allow_empty=True),
                Column("minutes", "float", "Playing time (empty if not measured).", allow_empty=True, min_value=0),
                Column(
                    "role", "text", "Role in this game (optional).", required=False, allow_empty=True, max_length=20
                ),
                _simulated(),
                *(
                    Column(code, "float", "Stat value (empty: not recorded).", required=False, allow_empty=True)
                    for code in STAT_CODES
                ),
            ),
            key=("player_pk", "game_pk"),
            description="Player stat lines: one row per player-game, one column per stat.",
        ),
        ImportSpec(
            "props",
            (
                _sport(),
                _ext("game_id", "game"),
                _ext("player_id", "player"),
                Column("stat", "text", "Stat code of the sport.", max_length=40),
                Column("book", "text", "Sportsbook name.", max_length=60),
                Column("line", "float", "The line, e.g. 24.5."),
                Column("over_decimal_odds", "float", "Decimal odds of the over.", min_value=1, strictly_greater=True),
                Column("under_decimal_odds", "float", "Decimal odds of the under.", min_value=1, strictly_greater=True),
                Column("seen_at", "datetime", "When the price was seen: ISO 8601 with a UTC offset."),
                _simulated(),
                Column("oracle_mean", "float", "Simulated data: the true mean.", required=False, allow_empty=True),
                Column(
                    "oracle_dispersion",
                    "float",
                    "Simulated data: the true dispersion.",
                    required=False,
                    allow_empty=True,
                    min_value=0,
                ),
            ),
            key=("game_pk", "player_pk", "stat", "book", "seen_at"),
            description="Prop lines (quotes) from books.",
        ),
        ImportSpec(
            "results",
            (
                _sport(),
                _ext("game_id", "game"),
                _ext("player_id", "player"),
                Column("stat", "text", "Stat code of the sport.", max_length=40),
                Column("value", "float", "The value the stat settled at; empty: void.", allow_empty=True),
                Column(
                    "status",
                    "text",
                    "settled or void (default: void when value is empty).",
                    required=False,
                    allow_empty=True,
                    choices=("settled", "void"),
                ),
            ),
            key=("game_pk", "player_pk", "stat"),
            description="Settled values of players' stats (what props are graded on).",
        ),
    )
}
