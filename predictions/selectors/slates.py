"""Reads of a slate: the day's priced props and what a model version already stored for them."""

from __future__ import annotations

from django.db import connection

from ..models import Prediction, PropLine

SLATE_PROP_FIELDS = (
    "pk",
    "game_id",
    "player_id",
    "stat",
    "line",
    "over_decimal_odds",
    "under_decimal_odds",
    "simulated",
)


def slate_prop_rows(*, sport: str, date, through) -> list[tuple]:
    """Every prop line of ``sport`` from ``date`` to ``through`` as ``SLATE_PROP_FIELDS`` tuples,
    by stat, game and player. The ORM builds the query; the cursor reads the rows: ~100,000 rows
    through the ORM's per-row converters cost several times the query (``simulated`` stays 0/1
    on SQLite)."""
    query = (
        PropLine.objects.filter(game__sport__code=sport, game__date__gte=date, game__date__lte=through)
        .order_by("stat", "game_id", "player_id", "id")
        .values_list(*SLATE_PROP_FIELDS)
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def slate_stored_predictions(*, model_version_id: int, game_ids, stat: str) -> dict[int, tuple]:
    """prop_line_id → (weights_id, line, over odds, under odds, feature_hash, graded_at) of the
    slate predictions a version stored for these games' props of ``stat``."""
    rows = Prediction.objects.filter(
        model_version_id=model_version_id, game_id__in=game_ids, stat=stat, prop_line__isnull=False
    ).values_list(
        "prop_line_id", "weights_id", "line", "over_decimal_odds", "under_decimal_odds", "feature_hash", "graded_at"
    )
    return {row[0]: row[1:] for row in rows}
