"""Readable labels for features, one table per sport/stat, and plain-language reasons.

A table maps each feature name of a sport/stat's schema to a label, the unit its value is
in and how many decimals to show. The tables are built from the stat's own words (its
catalogue label, ``STAT_UNITS``) and the two horizons' feature lists; tests check that every
feature of every default model (each sport/stat of engine.sports) has an entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from predictions.engine.features import SEASON_LAGS, feature_schema_for, season_components
from predictions.engine.sports import SPORTS

# The unit a stat is counted in, singular/plural as it reads after a number.
STAT_UNITS = {
    "points": "points",
    "rebounds": "rebounds",
    "assists": "assists",
    "threes": "threes",
    "passing_yards": "yards",
    "rushing_yards": "yards",
    "receptions": "receptions",
    "receiving_yards": "yards",
    "shots_on_goal": "shots",
    "saves": "saves",
    "home_runs": "home runs",
    "hits": "hits",
    "total_bases": "total bases",
    "strikeouts": "strikeouts",
    "doubles": "doubles",
    "triples": "triples",
    "walks": "walks",
    "batter_strikeouts": "strikeouts",
    "stolen_bases": "stolen bases",
}


@dataclass(frozen=True)
class Label:
    text: str
    unit: str
    decimals: int = 1

    def format(self, value: float) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "missing"
        number = f"{value:,.{self.decimals}f}"
        return f"{number} {self.unit}".rstrip()


def stat_unit(stat: str) -> str:
    return STAT_UNITS.get(stat, stat.replace("_", " "))


def _game_table(stat: str) -> dict[str, Label]:
    unit = stat_unit(stat)
    return {
        f"{stat}_last5": Label(f"{unit.capitalize()} per game, last 5 games", unit),
        f"{stat}_last10": Label(f"{unit.capitalize()} per game, last 10 games", unit),
        f"{stat}_last40": Label(f"{unit.capitalize()} per game, last 40 games", unit),
        f"{stat}_ewm": Label(f"Recent form ({unit} per game, weighted to recent games)", unit),
        f"{stat}_sd10": Label(f"Game-to-game spread of {unit}, last 10 games", unit),
        f"{stat}_per_minute_ewm": Label(f"{unit.capitalize()} per minute played, recent", f"{unit}/min", 3),
        f"{stat}_per_minute_last40": Label(f"{unit.capitalize()} per minute played, last 40 games", f"{unit}/min", 3),
        "minutes_last5": Label("Minutes played, last 5 games", "min"),
        "minutes_ewm": Label("Minutes played, recent (weighted)", "min"),
        f"{stat}_projection": Label(f"Projection: recent {unit} per minute x expected minutes", unit),
        f"{stat}_projection_last40": Label(f"Projection: 40-game {unit} per minute x expected minutes", unit),
        "games_played_prior": Label("Games played before this one (capped at 100)", "games", 0),
        "days_since_last_game": Label("Days since the last game", "days", 0),
        f"opponent_allowed_{stat}_last30": Label(f"Opponent allows per game, last 30 games ({unit})", unit),
        "team_pace_last30": Label("Own team's pace, last 30 games", "per game"),
        "opponent_pace_last30": Label("Opponent's pace, last 30 games", "per game"),
        "is_home": Label("Playing at home (1) or away (0)", "", 0),
        "rest_days": Label("Rest days before the game", "days", 0),
        "teammates_out_minutes": Label("Usual minutes of teammates who are out", "min"),
        "role_index": Label("Role (index in the sport's role list)", "", 0),
    }


def _season_table(stat: str) -> dict[str, Label]:
    unit = stat_unit(stat)
    table: dict[str, Label] = {}
    for lag in range(1, SEASON_LAGS + 1):
        when = "last season" if lag == 1 else f"{lag} seasons ago"
        table[f"opportunities_lag{lag}"] = Label(f"Opportunities (PA or batters faced), {when}", "", 0)
        table[f"{stat}_rate_lag{lag}"] = Label(f"{unit.capitalize()} per opportunity, {when}", "per opp.", 3)
    table.update(
        {
            f"{stat}_lag1": Label(f"{unit.capitalize()}, last season", unit, 0),
            "age": Label("Age on June 30", "years", 0),
            "seasons_with_history": Label("Seasons with history (of the last 3)", "seasons", 0),
            f"marcel_{stat}_rate": Label(f"Marcel projected {unit} per opportunity", "per opp.", 3),
            "marcel_opportunities": Label("Marcel projected opportunities", "", 0),
            f"marcel_{stat}": Label(f"Marcel projected {unit}", unit),
            f"{stat}_rate_over_league_lag1": Label(f"{unit.capitalize()} rate over the league's, last season", "x", 2),
        }
    )
    for code in season_components(stat):
        table[f"{code}_rate_weighted"] = Label(
            f"{stat_unit(code).capitalize()} per opportunity, last 3 seasons weighted", "per opp.", 3
        )
    return table


@cache
def label_table(sport: str, stat: str) -> dict[str, Label]:
    """The readable labels of a sport/stat's features."""
    return _season_table(stat) if SPORTS[sport].horizon == "season" else _game_table(stat)


def default_feature_names() -> dict[tuple[str, str], tuple[str, ...]]:
    """Every default model's features: (sport, stat) → schema names."""
    return {
        (sport.code, stat.code): feature_schema_for(sport.code, stat.code).names
        for sport in SPORTS.values()
        for stat in sport.stats
    }


def label_for(sport: str, stat: str, feature: str) -> Label:
    """The feature's label; a feature outside the table (a schema newer than this table)
    reads as its own name rather than failing the explanation."""
    try:
        return label_table(sport, stat)[feature]
    except KeyError:
        return Label(feature.replace("_", " "), "", 2)


def reason(
    *, sport: str, stat: str, feature: str, value: float, typical: float | None, contribution: float, output: str
) -> str:
    """One plain-language reason, e.g. "Opponent allows per game, last 30 games (points):
    114.1 points, 4.1 more than typical: +1.8 points"."""
    return label_reason(
        label_for(sport, stat, feature),
        value=value,
        typical=typical,
        contribution=contribution,
        output=output,
        unit=stat_unit(stat),
    )


def label_reason(
    label: Label,
    *,
    value: float,
    typical: float | None,
    contribution: float,
    output: str,
    unit: str,
    value_text: str | None = None,
) -> str:
    """``reason`` with the feature's label and the stat's unit already looked up (an
    explanation's payload looks them up once per model version), and ``value_text``
    (``label.format(value)``) when the caller has it."""
    text = f"{label.text}: {label.format(value) if value_text is None else value_text}"
    if typical is not None and value is not None and not math.isnan(value) and not math.isnan(typical):
        gap = value - typical
        if abs(gap) >= 0.5 * 10 ** (-label.decimals):
            direction = "more" if gap > 0 else "less"
            text += f", {abs(gap):,.{label.decimals}f} {direction} than typical"
        else:
            text += ", about typical"
    effect = f"{contribution * 100:+.1f} pts of P(over)" if output == "p_over" else f"{contribution:+.2f} {unit}"
    return f"{text}: {effect}"
