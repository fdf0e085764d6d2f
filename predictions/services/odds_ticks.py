"""Odds ticks into predictions: a feed's ticks become prop quotes, are scored by the production
ensemble, published to ``predictions.*`` and, where a prop's best edge crosses a user's
threshold, alerted.

How it runs: live sends ``odds_ticks_received(ticks=[...])`` once per ingest call, after
commit; ``predictions.receivers.on_odds_ticks`` queues a ``predictions.apply_odds_ticks`` task with the tick ids (one
per ``TASK_TICKS``; the embedded mode runs it at once); the task calls ``odds_ticks_apply``,
which handles its ticks in one pass: one import, one ``slate_predict`` per game day, one read
of the edges before and after, whatever the number of ticks. Rules:

- **Matching.** A tick is a quote (PropLine: game, player, stat, book, ``seen_at`` = the
  tick's time) written through the props importer (``services.data_import(kind="props")``
  with ``skip_bad``), so it matches exactly as a props file row does: sport, the game's
  external id, ``player_id`` (the player's external id; the name is not used) and a stat of
  the sport. A tick that matches nothing is skipped and counted (logged at INFO), never an
  error. A quote is simulated if the tick, its game or its player is. Its book is the book
  already quoting the sport's games of that day whose name matches regardless of case (live
  lowercases feed books; imported props keep theirs), else the tick's.
- **Scoring.** ``services.slate_predict`` for each (sport, game day) the batch touched: it
  scores only quotes whose inputs changed, with the production ensemble (and active shadows),
  and stores one Prediction per quote and model version.
- **Publishing.** Each book's latest quote of the batch, when it has a freshly stored
  production prediction, goes out as ``prediction.updated`` on ``predictions.{sport}`` and
  ``predictions.player.{player pk}``.
- **Edge alerts.** A prop's (game, player, stat) best edge is the highest edge among each
  book's latest quote. It is read before the batch is written and after it is scored; live's
  ``raise_edge_crossings`` alerts each active user with an AlertPreference row whose
  ``min_edge`` lies above the edge before (or the edge was unknown) and at or below the edge
  after. A prop that stays above a threshold is not announced again, nor one that dips just
  below and comes back (``live.alerts.REARM_MARGIN``); one that falls well below and comes
  back is. Crossings are judged per task, on its end state. In the services mode two
  workers applying batches of the same prop at the same moment may both see one crossing and
  alert twice; the embedded mode applies batches one after the other.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict

from django.utils import timezone

from live.alerts import raise_edge_crossings
from live.services import odds_ticks_get, publish

from .. import selectors
from ..models import Prediction
from .imports import data_import
from .slates import slate_predict

logger = logging.getLogger(__name__)

IMPORT_SOURCE = "live odds feed"
# Ticks per task: bounds each task's queries (IN lists) and run time; an API call may carry
# 50,000 rows, a --speed max replay 1,000 per call.
TASK_TICKS = 1000

PropKey = tuple[str, str, str]  # game external id, player external id, stat
QuoteKey = tuple[str, str, str, str, dt.datetime]  # ... book, seen_at


def odds_ticks_apply(*, tick_ids: list[int]) -> dict:
    """Quote, score, publish and alert for the stored ticks ``tick_ids`` (idempotent: a second
    run finds the quotes and predictions stored and nothing crossing). Returns a summary."""
    ticks = odds_ticks_get(ids=tick_ids)
    summary = {"ticks": len(ticks), "quotes": 0, "skipped": 0, "skipped_by": {}, "published": 0, "alerts": 0}
    by_sport: dict[str, list[dict]] = defaultdict(list)
    for tick in ticks:
        by_sport[tick["sport"]].append(tick)
    for sport, sport_ticks in sorted(by_sport.items()):
        _apply_sport(sport=sport, ticks=sport_ticks, summary=summary)
    logger.log(
        logging.INFO if summary["skipped"] else logging.DEBUG,
        "odds ticks applied: %(ticks)d ticks, %(quotes)d quotes, %(skipped)d skipped %(skipped_by)s, "
        "%(published)d predictions published, %(alerts)d edge alerts",
        summary,
        extra={"summary": summary},
    )
    return summary


def _skip(summary: dict, reason: str, count: int) -> None:
    if count:
        summary["skipped"] += count
        summary["skipped_by"][reason] = summary["skipped_by"].get(reason, 0) + count


def _apply_sport(*, sport: str, ticks: list[dict], summary: dict) -> None:
    """Quote, score, publish and alert for one sport's ticks of a batch."""
    games = selectors.game_days_by_external_id(sport=sport, external_ids={tick["game"] for tick in ticks})
    # A feed mostly carries games we do not track: skip those before the importer reads the
    # sport's key maps.
    known = [tick for tick in ticks if tick["game"] in games]
    _skip(summary, "game_id", len(ticks) - len(known))
    if not known:
        return
    quotes = _quotes(sport=sport, ticks=known, games=games)
    props = {key[:3] for key in quotes}
    before, _ = _best_edges(sport=sport, props=props)
    if not _import_quotes(sport=sport, quotes=quotes, games=games, summary=summary):
        return
    started = timezone.now()
    for day in sorted({games[key[0]][0] for key in quotes}):
        slate_predict(sport=sport, date=day)
    after, quote_predictions = _best_edges(sport=sport, props=props)
    _publish_and_alert(
        sport=sport,
        quotes=quotes,
        before=before,
        after=after,
        quote_predictions=quote_predictions,
        started=started,
        summary=summary,
    )


def _quotes(*, sport: str, ticks: list[dict], games: dict) -> dict[QuoteKey, dict]:
    """One quote per key: a batch repeating a key keeps its last tick (the importer would
    reject the repeat as a duplicate row)."""
    # Live's feed parser lowercases book names; the props importer keeps them as written. A
    # tick from a book that already quotes the sport on these days is that book ("simbook
    # today" is the demo slate's "SimBook Today"), not a second book beside its stale quote.
    # Where two spellings exist, the first in sort order wins (capitals first: the imported one).
    book_names: dict[str, str] = {}
    for book in selectors.book_names_on_days(sport=sport, days={games[t["game"]][0] for t in ticks}):
        book_names.setdefault(book.lower(), book)
    quotes: dict[QuoteKey, dict] = {}
    for tick in ticks:
        seen_at = dt.datetime.fromisoformat(tick["ts"])
        book = book_names.get(tick["book"].lower(), tick["book"])
        quotes[(tick["game"], tick["player_id"], tick["stat"], book, seen_at)] = tick
    return quotes


def _import_quotes(*, sport: str, quotes: dict[QuoteKey, dict], games: dict, summary: dict) -> int:
    """Write the quotes through the props importer (good rows; bad ones counted); returns how
    many were imported. A quote is simulated if its tick, game or player is."""
    simulated_players = selectors.simulated_player_external_ids(sport=sport, external_ids={key[1] for key in quotes})
    report = data_import(
        kind="props",
        records=[
            {
                "sport": sport,
                "game_id": tick["game"],
                "player_id": tick["player_id"],
                "stat": tick["stat"],
                "book": key[3],
                "line": tick["line"],
                "over_decimal_odds": tick["over_odds"],
                "under_decimal_odds": tick["under_odds"],
                "seen_at": tick["ts"],
                "simulated": bool(
                    tick["simulated"] or games[tick["game"]][1] or tick["player_id"] in simulated_players
                ),
            }
            for key, tick in quotes.items()
        ],
        skip_bad=True,
        source=IMPORT_SOURCE,
    )
    summary["quotes"] += report.imported
    if report.skipped:
        for column, count in Counter(error.column for error in report.errors).items():
            summary["skipped_by"][column] = summary["skipped_by"].get(column, 0) + count
        summary["skipped"] += report.skipped
    return report.imported


def _publish_and_alert(*, sport, quotes, before, after, quote_predictions, started, summary) -> None:
    """``prediction.updated`` for each book's latest quote of the batch that was freshly scored
    (an earlier one the batch already superseded is stored and scored, but not worth a
    message), then edge alerts for the props whose best edge crossed a user's threshold."""
    newest: dict[tuple, QuoteKey] = {}
    for key in quotes:
        if key[:4] not in newest or key[4] > newest[key[:4]][4]:
            newest[key[:4]] = key
    batch_ids = {quote_predictions[key] for key in newest.values() if quote_predictions.get(key)}
    loaded = selectors.predictions_for_messages(ids=batch_ids | {best[1] for best in after.values()})
    messages = {pk: _message(sport, prediction) for pk, prediction in loaded.items()}
    for pk in sorted(batch_ids):
        prediction = loaded.get(pk)
        if prediction is None or prediction.created_at < started:
            continue  # nothing new for this quote (a repeated tick): already published
        publish(f"predictions.{sport}", "prediction.updated", messages[pk])
        publish(f"predictions.player.{prediction.player_id}", "prediction.updated", messages[pk])
        summary["published"] += 1
    moves = [
        {
            "prop": f"{sport}:{':'.join(prop)}",
            "previous_edge": before.get(prop, (None, None))[0],
            "edge": edge,
            "data": messages.get(prediction_id),
        }
        for prop, (edge, prediction_id) in after.items()
    ]
    summary["alerts"] += raise_edge_crossings(moves)


def _best_edges(*, sport: str, props: set[PropKey]) -> tuple[dict[PropKey, tuple[float, int]], dict[QuoteKey, int]]:
    """(prop → (best edge, its prediction id) over each book's latest quote, for props with a
    scored latest quote; quote → its latest shown prediction id), in one query."""
    latest: dict[tuple, tuple] = {}
    quote_predictions: dict[QuoteKey, int] = {}
    for pk, game, player, stat, book, seen_at, prediction_id, edge in selectors.latest_quote_rows(
        sport=sport, props=props
    ):
        if (game, player, stat) not in props:
            continue
        quote_predictions[(game, player, stat, book, seen_at)] = prediction_id
        current = latest.get((game, player, stat, book))
        if current is None or (seen_at, pk) > current[:2]:
            latest[(game, player, stat, book)] = (seen_at, pk, edge, prediction_id)
    best: dict[PropKey, tuple[float, int]] = {}
    for (game, player, stat, _), (_, _, edge, prediction_id) in latest.items():
        if edge is None:
            continue
        prop = (game, player, stat)
        if prop not in best or edge > best[prop][0]:
            best[prop] = (edge, prediction_id)
    return best, quote_predictions


def _message(sport: str, prediction: Prediction) -> dict:
    """What a client needs to render an updated prediction (the database stays the truth)."""
    return {
        "prediction_id": prediction.pk,
        "prop_id": prediction.prop_line_id,
        "sport": sport,
        "game": prediction.game.external_id,
        "game_id": prediction.game_id,
        "player": prediction.player.name,
        "player_id": prediction.player_id,
        "player_external_id": prediction.player.external_id,
        "stat": prediction.stat,
        "book": prediction.prop_line.book,
        "line": prediction.line,
        "over_decimal_odds": prediction.over_decimal_odds,
        "under_decimal_odds": prediction.under_decimal_odds,
        "seen_at": prediction.prop_line.seen_at.isoformat(),
        "mean": prediction.mean,
        "p_over": prediction.p_over,
        "p_under": prediction.p_under,
        "p_push": prediction.p_push,
        "edge": prediction.edge,
        "side": prediction.side or None,
        "model_version": {
            "id": prediction.model_version_id,
            "name": prediction.model_version.name,
            "version": prediction.model_version.version,
        },
        "simulated": prediction.simulated,
    }
