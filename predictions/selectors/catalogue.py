"""Reads shared by the API, pages, commands and other apps. Each owns its select_related."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from a1site.core.rowcache import PageCache, RowCache
from a1site.registry import selectors as registry_selectors

from ..engine.sports import SPORTS
from ..models import Game, Player, Prediction, PropLine, Result, Sport, StatLine, Team
from .rows import prop_row_version_rows, props_list_generation


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


def _filtered_props(queryset, *, sport, date, stat, player=None, book=None) -> QuerySet[PropLine]:
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
    return queryset


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
    queryset = _filtered_props(queryset, sport=sport, date=date, stat=stat, player=player, book=book)
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


# --- Predictions -----------------------------------------------------------------------------------

PROP_SORTS = {
    "date": ("game__date", "game_id", "player_id", "stat", "book"),
    "-date": ("-game__date", "game_id", "player_id", "stat", "book"),
    "edge": ("pred_edge", "id"),
    "-edge": ("-pred_edge", "id"),
    "p_over": ("pred_p_over", "id"),
    "-p_over": ("-pred_p_over", "id"),
    "player": ("player__name", "-game__date", "id"),
    "line": ("line", "id"),
}


def priced_prop_list(
    *,
    sport: str | None = None,
    date: dt.date | None = None,
    stat: str | None = None,
    min_edge: float | None = None,
    sort: str = "-date",
    predicted_only: bool = False,
    player: str | None = None,
    book: str | None = None,
    current_only: bool = False,
) -> QuerySet[PropLine]:
    """Prop lines with the id, edge and P(over) of their latest shown prediction (shadow
    predictions are never shown). Fetch the page's predictions with ``predictions_by_id``:
    list queries stay constant whatever the page size.

    Each odds tick is a new prop line (a quote); ``current_only`` keeps each book's latest
    quote of a prop, the price on offer now, and leaves out the ones it superseded."""
    latest = _latest_shown_prediction()
    queryset = prop_list(sport=sport, date=date, stat=stat, player=player, book=book).annotate(
        pred_id=Subquery(latest.values("id")[:1]),
        pred_edge=Subquery(latest.values("edge")[:1]),
        pred_p_over=Subquery(latest.values("p_over")[:1]),
    )
    if current_only:
        newer = PropLine.objects.filter(
            game=OuterRef("game"),
            player=OuterRef("player"),
            stat=OuterRef("stat"),
            book=OuterRef("book"),
            seen_at__gt=OuterRef("seen_at"),
        )
        queryset = queryset.exclude(Exists(newer))
    if min_edge is not None:
        queryset = queryset.filter(pred_edge__gte=min_edge)
    elif predicted_only:
        queryset = queryset.filter(pred_id__isnull=False)
    return queryset.order_by(*PROP_SORTS.get(sort, PROP_SORTS["-date"]))


def _latest_shown_prediction() -> QuerySet[Prediction]:
    return Prediction.objects.filter(prop_line=OuterRef("pk"), shadow=False).order_by("-created_at", "-id")


def priced_prop_keys(
    *,
    sport: str | None = None,
    date: dt.date | None = None,
    stat: str | None = None,
    min_edge: float | None = None,
    sort: str = "-date",
    player: str | None = None,
    book: str | None = None,
) -> QuerySet:
    """The primary keys of ``priced_prop_list``'s rows, in its order: a page reads its keys,
    then its rows (``prop_row_versions``, ``priced_props_by_id``). Only what the filter and
    the sort read is annotated: building the other subqueries was half of a cached page."""
    queryset = _filtered_props(PropLine.objects.all(), sport=sport, date=date, stat=stat, player=player, book=book)
    order = PROP_SORTS.get(sort, PROP_SORTS["-date"])
    if min_edge is not None or "pred_edge" in order[0]:
        queryset = queryset.annotate(pred_edge=Subquery(_latest_shown_prediction().values("edge")[:1]))
    if "pred_p_over" in order[0]:
        queryset = queryset.annotate(pred_p_over=Subquery(_latest_shown_prediction().values("p_over")[:1]))
    if min_edge is not None:
        queryset = queryset.filter(pred_edge__gte=min_edge)
    return queryset.order_by(*order).values_list("pk", flat=True)


# Every value a row of the props list shows (the API's PricedPropSerializer and the Predictions
# page's row), read fresh for a page's rows on each request: the row's version in the row
# cache (a1site/core/rowcache.py). The latest prediction is named by its id alone: predictions
# are never edited, and its edge and probabilities are its own.
PROP_ROW_VERSION = (
    "pk",
    "stat",
    "book",
    "line",
    "over_decimal_odds",
    "under_decimal_odds",
    "seen_at",
    "simulated",
    "oracle_mean",
    "oracle_dispersion",
    "oracle_p_over",
    "oracle_p_under",
    "oracle_p_push",
    "game_id",
    "game__external_id",
    "game__kind",
    "game__season",
    "game__date",
    "game__sport__code",
    "game__sport__label",
    "game__home_team__id",
    "game__home_team__external_id",
    "game__home_team__name",
    "game__home_team__abbreviation",
    "game__away_team__id",
    "game__away_team__external_id",
    "game__away_team__name",
    "game__away_team__abbreviation",
    "player_id",
    "player__external_id",
    "player__name",
    "player__role",
    "result_value",
    "result_status",
    "pred_id",
)


def prop_row_versions(keys: list[int]) -> list[tuple]:
    """The version (``PROP_ROW_VERSION``) of each priced prop in ``keys``, in that order, in
    one query; a prop deleted since its key was read is left out."""
    found = {row[0]: row for row in prop_row_version_rows(keys)}
    return [found[key] for key in keys if key in found]


def prop_row_version(prop: PropLine) -> tuple:
    """The version of a prop read by ``priced_props_by_id``: what ``prop_row_versions``
    gives for it when the data has not changed in between."""
    out = []
    for path in PROP_ROW_VERSION:
        value = prop
        for name in path.split("__"):
            value = getattr(value, name) if value is not None else None
        out.append(value)
    return tuple(out)


def priced_props_by_id(ids: list[int]) -> list[tuple[PropLine, Prediction | None]]:
    """Priced props (as ``priced_prop_list``) with their latest prediction, in the order of
    ``ids``; a prop deleted since its id was read is left out."""
    props = priced_prop_list().order_by().filter(pk__in=ids).in_bulk()
    predictions = predictions_by_id([prop.pred_id for prop in props.values()])
    return [(props[key], predictions.get(props[key].pred_id)) for key in ids if key in props]


def rendered_prop_rows(rows: RowCache, keys: list[int], render: Callable[[list[tuple]], list]) -> list:
    """The rendered row of each priced prop in ``keys`` (a page's, in order): from ``rows``
    under its version when rendered before, else by ``render``, which gets (prop, latest
    prediction) pairs from ``priced_props_by_id`` and returns one rendering each."""
    versions = prop_row_versions(keys)
    at = {version[0]: k for k, version in enumerate(versions)}

    def missing(indexes: list[int]) -> list:
        found = priced_props_by_id([versions[k][0] for k in indexes])
        return [(at[prop.pk], prop_row_version(prop), row) for (prop, _), row in zip(found, render(found), strict=True)]

    return rows.rows(versions, missing)


def props_list_page(pages: PageCache, key, render: Callable[[], object]):
    """A page of the props list as ``render()`` makes it (the API's answer, the Predictions
    page's table), kept in ``pages`` under the list's generation and ``key``: everything else
    the page depends on (its filters, its number, the host its links name)."""
    return pages.page(props_list_generation(), key, render)


def predictions_by_id(ids) -> dict:
    """Predictions by id, each with its model version. The versions (a page's 50 predictions
    share one to three) are read once each rather than joined per row: every joined row
    decoded the version's JSON (feature schema, metrics) again, 8 of a props page's ~20 ms."""
    wanted = [pk for pk in ids if pk is not None]
    if not wanted:
        return {}
    found = Prediction.objects.in_bulk(wanted)
    versions = registry_selectors.model_versions_by_id(
        version_ids={prediction.model_version_id for prediction in found.values()}
    )
    for prediction in found.values():
        prediction.model_version = versions[prediction.model_version_id]
    return found


def prediction_get(*, prediction_id: int, include_shadow: bool = False):
    queryset = Prediction.objects.select_related(
        "model_version", "game__sport", "game__home_team", "game__away_team", "player__team", "prop_line", "weights"
    )
    if not include_shadow:
        queryset = queryset.filter(shadow=False)
    return queryset.filter(pk=prediction_id).first()


BEST_EDGES_CACHE_S = 60


def best_edges_version() -> tuple[int | None, int | None]:
    """The newest prop line's id and the newest id of a prediction of a prop line:
    ``best_edges`` changes only when one of them does (predictions are never edited; an odds
    move is a new prop line). Predictions of API requests price no prop line and leave it
    as it is: keyed by the newest prediction of all, the Dashboard scored every prop of the
    day again after each request (a third of a loaded server's time). One hand-written
    SELECT of two index reads (the ORM's two aggregates took ~0.5 ms)."""
    prediction, prop = (f'"{model._meta.db_table}"' for model in (Prediction, PropLine))
    sql = (
        f'SELECT (SELECT MAX("id") FROM {prediction} WHERE "prop_line_id" IS NOT NULL),'  # noqa: S608 - the models' own tables
        f' (SELECT MAX("id") FROM {prop})'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def best_edges(
    *, date: dt.date, per_sport: int = 5, version: tuple[int | None, int | None] | None = None
) -> list[dict]:
    """The day's best positive edges per sport (latest shown prediction of each prop).

    Kept in the cache under ``best_edges_version()`` (pass it as ``version`` if already read):
    edges change only with a new prediction or a new prop, so a cached answer is never stale,
    and the Dashboard costs two index reads instead of scoring every prop of the day (~30 ms a
    sport on the demo's slates) on each view."""
    newest = best_edges_version() if version is None else version
    key = f"a1:best-edges:{date.isoformat()}:{per_sport}:{newest[0]}:{newest[1]}"
    found = cache.get(key)
    if found is None:
        found = _best_edges(date=date, per_sport=per_sport)
        cache.set(key, found, BEST_EDGES_CACHE_S)
    return found


def _best_edges(*, date: dt.date, per_sport: int) -> list[dict]:
    out = []
    for sport in sport_list():
        props = list(
            priced_prop_list(sport=sport.code, date=date, min_edge=0.0, sort="-edge", current_only=True)[:per_sport]
        )
        if props:
            predictions = predictions_by_id([prop.pred_id for prop in props])
            out.append({"sport": sport, "props": [(prop, predictions.get(prop.pred_id)) for prop in props]})
    return out


def game_ids_by_external_id(*, sport: str | None, external_id: str | None) -> list[int]:
    return list(Game.objects.filter(sport__code=sport, external_id=external_id).values_list("pk", flat=True))
