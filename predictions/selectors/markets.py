"""Reads for other apps that price markets: a day's priced props with our latest prediction,
and players' stat histories (for correlations between props)."""

from __future__ import annotations

import datetime as dt

from ..engine.grading import outcome
from ..models import PropLine, Result, StatLine
from .catalogue import predictions_by_id, priced_prop_list

__all__ = ["priced_props_with_predictions", "prop_settlements", "stat_histories"]


def priced_props_with_predictions(
    *, sport: str | None = None, date: dt.date | None = None, stat: str | None = None, limit: int = 500
) -> list[dict]:
    """Props that have a shown prediction, as plain dicts: the prop's ids, both prices and our
    P(over), P(under), P(push). Only each book's latest quote: a superseded price is no
    longer on offer. Two queries whatever the number."""
    props = list(priced_prop_list(sport=sport, date=date, stat=stat, predicted_only=True, current_only=True)[:limit])
    predictions = predictions_by_id([prop.pred_id for prop in props])
    out = []
    for prop in props:
        prediction = predictions.get(prop.pred_id)
        if prediction is None:
            continue
        out.append(
            {
                "prop_line_id": prop.pk,
                "sport": prop.game.sport.code,
                "game_id": prop.game_id,
                "game_external_id": prop.game.external_id,
                "player_external_id": prop.player.external_id,
                "game": str(prop.game),
                "player_id": prop.player_id,
                "player": prop.player.name,
                "team_id": prop.player.team_id,
                "stat": prop.stat,
                "line": prop.line,
                "book": prop.book,
                "over_decimal_odds": prop.over_decimal_odds,
                "under_decimal_odds": prop.under_decimal_odds,
                "p_over": prediction.p_over,
                "p_under": prediction.p_under,
                "p_push": prediction.p_push,
            }
        )
    return out


def stat_histories(*, player_ids, stats, before: dt.date | None = None, games: int = 200) -> dict:
    """(player id, stat) → {game id: value} over each player's last ``games`` games."""
    wanted_stats = set(stats)
    queryset = StatLine.objects.filter(player_id__in=list(player_ids))
    if before is not None:
        queryset = queryset.filter(game__date__lt=before)
    out: dict[tuple[int, str], dict[int, float]] = {}
    seen: dict[int, int] = {}
    for player_id, game_id, values in queryset.order_by("player_id", "-game__date").values_list(
        "player_id", "game_id", "stats"
    ):
        if seen.get(player_id, 0) >= games:
            continue
        seen[player_id] = seen.get(player_id, 0) + 1
        for stat in wanted_stats:
            value = (values or {}).get(stat)
            if value is not None:
                out.setdefault((player_id, stat), {})[game_id] = float(value)
    return out


def prop_settlements(*, prop_line_ids) -> dict[int, dict]:
    """prop line id → how it settled and its closing price: ``outcome`` (over, under, push,
    void, or None while unsettled; the grading rule of predictions.engine.grading) and the
    last quote of the same book at the same line (``closing_over``, ``closing_under``).
    Three queries whatever the number."""
    props = list(PropLine.objects.filter(pk__in=list(prop_line_ids)))
    if not props:
        return {}
    game_ids = {p.game_id for p in props}
    results = {
        (r.game_id, r.player_id, r.stat): r
        for r in Result.objects.filter(game_id__in=game_ids, player_id__in={p.player_id for p in props})
    }
    closing: dict[tuple, PropLine] = {}
    for quote in PropLine.objects.filter(game_id__in=game_ids, player_id__in={p.player_id for p in props}).order_by(
        "seen_at", "id"
    ):
        closing[(quote.game_id, quote.player_id, quote.stat, quote.book, quote.line)] = quote
    out = {}
    for prop in props:
        result = results.get((prop.game_id, prop.player_id, prop.stat))
        if result is None:
            settled = None
        elif result.status == Result.Status.VOID:
            settled = "void"
        else:
            settled = outcome(result.value, prop.line)
        last = closing.get((prop.game_id, prop.player_id, prop.stat, prop.book, prop.line), prop)
        out[prop.pk] = {
            "outcome": settled,
            "closing_over": last.over_decimal_odds,
            "closing_under": last.under_decimal_odds,
        }
    return out
