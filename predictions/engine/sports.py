"""The catalogue of sports and the player-prop stats A1 predicts.

Plain frozen dataclasses, so services, importers and the engine share one definition of
what a stat is, which distribution family models it and which player roles it applies to.
"""

from __future__ import annotations

from dataclasses import dataclass

# Distribution families (see engine.distributions):
#   "negbin": negative binomial, mean and alpha (variance = mean + alpha * mean**2);
#             counts (points, rebounds, shots, home runs...).
#   "normal": a normal discretised to integers, mean and phi (variance = phi * max(mean, 1));
#             large yardage totals, which are roughly symmetric and may be negative.
FAMILIES = ("negbin", "normal")


@dataclass(frozen=True)
class Stat:
    sport: str
    code: str
    label: str
    family: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Sport:
    code: str
    label: str
    simulated: bool
    # "game" props settle on one game; "season" props settle on a season total.
    horizon: str
    roles: tuple[str, ...]
    stats: tuple[Stat, ...]

    def stat(self, code: str) -> Stat:
        for stat in self.stats:
            if stat.code == code:
                return stat
        known = ", ".join(s.code for s in self.stats)
        raise ValueError(f"unknown stat {code!r} for sport {self.code!r} (known: {known})")


def _stats(sport: str, rows: list[tuple[str, str, str, tuple[str, ...]]]) -> tuple[Stat, ...]:
    return tuple(Stat(sport, code, label, family, roles) for code, label, family, roles in rows)


SPORTS: dict[str, Sport] = {
    "mlb": Sport(
        code="mlb",
        label="MLB",
        simulated=False,
        horizon="season",
        roles=("batter", "pitcher"),
        stats=_stats(
            "mlb",
            [
                ("home_runs", "Home runs (season)", "negbin", ("batter",)),
                ("hits", "Hits (season)", "negbin", ("batter",)),
                ("total_bases", "Total bases (season)", "negbin", ("batter",)),
                ("strikeouts", "Pitcher strikeouts (season)", "negbin", ("pitcher",)),
            ],
        ),
    ),
    "nba": Sport(
        code="nba",
        label="NBA",
        simulated=True,
        horizon="game",
        roles=("starter", "bench"),
        stats=_stats(
            "nba",
            [
                ("points", "Points", "negbin", ("starter", "bench")),
                ("rebounds", "Rebounds", "negbin", ("starter", "bench")),
                ("assists", "Assists", "negbin", ("starter", "bench")),
                ("threes", "Three-pointers made", "negbin", ("starter", "bench")),
            ],
        ),
    ),
    "nfl": Sport(
        code="nfl",
        label="NFL",
        simulated=True,
        horizon="game",
        roles=("QB", "RB", "WR", "TE"),
        stats=_stats(
            "nfl",
            [
                ("passing_yards", "Passing yards", "normal", ("QB",)),
                ("rushing_yards", "Rushing yards", "normal", ("QB", "RB")),
                ("receptions", "Receptions", "negbin", ("RB", "WR", "TE")),
                ("receiving_yards", "Receiving yards", "normal", ("RB", "WR", "TE")),
            ],
        ),
    ),
    "nhl": Sport(
        code="nhl",
        label="NHL",
        simulated=True,
        horizon="game",
        roles=("F", "D", "G"),
        stats=_stats(
            "nhl",
            [
                ("shots_on_goal", "Shots on goal", "negbin", ("F", "D")),
                ("points", "Points", "negbin", ("F", "D")),
                ("saves", "Goalie saves", "negbin", ("G",)),
            ],
        ),
    ),
}


def get_sport(code: str) -> Sport:
    try:
        return SPORTS[code]
    except KeyError:
        raise ValueError(f"unknown sport {code!r} (known: {', '.join(SPORTS)})") from None


def get_stat(sport: str, stat: str) -> Stat:
    return get_sport(sport).stat(stat)


def all_stats() -> list[Stat]:
    """Every (sport, stat) pair in catalogue order: the default training plan."""
    return [stat for sport in SPORTS.values() for stat in sport.stats]
