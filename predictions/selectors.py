"""Reads shared by the API, pages, commands and other apps. Each owns its select_related."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from django.db.models import OuterRef, QuerySet, Subquery

from .engine.sports import SPORTS
from .models import Game, Player, PropLine, Result, Sport, StatLine, Team


def sport_list() -> QuerySet[Sport]:
    return Sport.objects.all()


def team_list(*, sport: str | None = None) -> QuerySet[Team]:
    queryset = Team.objects.select_related("sport")
    if sport:
        queryset = queryset.filter(sport__code=sport)
    return queryset


def player_list(*, sport: str | None = None, team: str | None = None, search: str | None = None) -> QuerySet[Player]:
    queryset = Player.objects.select_related("sport", "team")
    if sport:
        queryset = queryset.filter(sport__code=sport)
    if team:
        queryset = queryset.filter(team__external_id=team)
    if search:
        queryset = queryset.filter(name__icontains=search)
    return queryset


def game_list(*, sport: str | None = None, date: dt.date | None = None, season: int | None = None) -> QuerySet[Game]:
    queryset = Game.objects.select_related("sport", "home_team", "away_team")
    if sport:
        queryset = queryset.filter(sport__code=sport)
    if date:
        queryset = queryset.filter(date=date)
    if season:
        queryset = queryset.filter(season=season)
    return queryset


def stat_line_list(
    *, sport: str | None = None, player: str | None = None, game: str | None = None
) -> QuerySet[StatLine]:
    queryset = StatLine.objects.select_related("game__sport", "player", "team", "opponent")
    if sport:
        queryset = queryset.filter(game__sport__code=sport)
    if player:
        queryset = queryset.filter(player__external_id=player)
    if game:
        queryset = queryset.filter(game__external_id=game)
    return queryset.order_by("-game__date", "game_id", "player_id")


def prop_list(
    *,
    sport: str | None = None,
    date: dt.date | None = None,
    stat: str | None = None,
    player: str | None = None,
    book: str | None = None,
) -> QuerySet[PropLine]:
    """Prop lines with their game, player and (if settled) the result they settle on."""
    result = Result.objects.filter(game=OuterRef("game"), player=OuterRef("player"), stat=OuterRef("stat"))
    queryset = PropLine.objects.select_related("game__sport", "game__home_team", "game__away_team", "player__team")
    queryset = queryset.annotate(
        result_value=Subquery(result.values("value")[:1]),
        result_status=Subquery(result.values("status")[:1]),
    )
    if sport:
        queryset = queryset.filter(game__sport__code=sport)
    if date:
        queryset = queryset.filter(game__date=date)
    if stat:
        queryset = queryset.filter(stat=stat)
    if player:
        queryset = queryset.filter(player__external_id=player)
    if book:
        queryset = queryset.filter(book=book)
    return queryset.order_by("-game__date", "game_id", "player_id", "stat", "book", "-seen_at")


def result_list(*, sport: str | None = None, game: str | None = None) -> QuerySet[Result]:
    queryset = Result.objects.select_related("game__sport", "player")
    if sport:
        queryset = queryset.filter(game__sport__code=sport)
    if game:
        queryset = queryset.filter(game__external_id=game)
    return queryset


# --- Natural key maps for the importers ---------------------------------------------------


def sport_id_map() -> dict[str, int]:
    return dict(Sport.objects.values_list("code", "id"))


def team_id_map(*, sport_id: int) -> dict[str, int]:
    return dict(Team.objects.filter(sport_id=sport_id).values_list("external_id", "id"))


def player_id_map(*, sport_id: int) -> dict[str, int]:
    return dict(Player.objects.filter(sport_id=sport_id).values_list("external_id", "id"))


def game_key_table(*, sport_id: int) -> pd.DataFrame:
    """Games of a sport indexed by external id: pk, home_team_id, away_team_id, kind."""
    rows = list(
        Game.objects.filter(sport_id=sport_id).values_list("external_id", "id", "home_team_id", "away_team_id", "kind")
    )
    frame = pd.DataFrame(rows, columns=["external_id", "pk", "home_team_id", "away_team_id", "kind"])
    return frame.set_index("external_id")


def sport_stats(*, sport: str):
    """The stats the catalogue defines for a sport (engine.sports)."""
    return SPORTS[sport].stats if sport in SPORTS else ()
