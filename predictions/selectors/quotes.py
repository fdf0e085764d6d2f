"""Reads behind the live odds feed's quotes (services.odds_ticks)."""

from __future__ import annotations

from ..models import Game, Player, Prediction, PropLine
from .catalogue import priced_prop_list


def game_days_by_external_id(*, sport: str, external_ids) -> dict[str, tuple]:
    """external id → (date, simulated) of the sport's games among ``external_ids``."""
    rows = Game.objects.filter(sport__code=sport, external_id__in=set(external_ids))
    return {
        external_id: (date, simulated)
        for external_id, date, simulated in rows.values_list("external_id", "date", "simulated")
    }


def book_names_on_days(*, sport: str, days) -> list[str]:
    """The books quoting the sport's games on these days, in sort order."""
    books = PropLine.objects.filter(game__sport__code=sport, game__date__in=set(days)).values_list("book", flat=True)
    return sorted(books.distinct())


def simulated_player_external_ids(*, sport: str, external_ids) -> set[str]:
    rows = Player.objects.filter(sport__code=sport, external_id__in=set(external_ids), simulated=True)
    return set(rows.values_list("external_id", flat=True))


def latest_quote_rows(*, sport: str, props) -> list[tuple]:
    """(pk, game external id, player external id, stat, book, seen_at, latest shown prediction
    id, its edge) of the sport's quotes on these (game, player, stat) props' games, players and
    stats (a superset of the props: the caller keeps its own)."""
    return list(
        priced_prop_list(sport=sport)
        .filter(
            game__external_id__in={prop[0] for prop in props},
            player__external_id__in={prop[1] for prop in props},
            stat__in={prop[2] for prop in props},
        )
        .values_list(
            "pk", "game__external_id", "player__external_id", "stat", "book", "seen_at", "pred_id", "pred_edge"
        )
    )


def predictions_for_messages(*, ids) -> dict[int, Prediction]:
    """Predictions with what a live message names (version, player, game, quote)."""
    rows = Prediction.objects.filter(pk__in=set(ids)).select_related("model_version", "player", "game", "prop_line")
    return {prediction.pk: prediction for prediction in rows}
