"""Predictions: one prop or ten thousand, scored by the in-process inference service
(predictions.serving) and stored, each answer naming the model version that made it.

The request path is measured (bench/predict.py): natural keys are resolved in two hand-written
queries per sport (selectors.rows) through a process-local cache, feature rows come from the
feature table (or the player's recent history on a miss), and new predictions are written with
one multi-row INSERT (writes.predictions_insert).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import orjson
from django.db import connection
from django.utils import timezone

from a1site.core.errors import ApplicationError

from .. import selectors, writes
from ..engine.distributions import log_pmf
from ..engine.features import feature_schema_for
from ..engine.sports import SPORTS
from ..models import Game, Prediction
from ..serving import book_anchor, edges, service
from .features import prop_features_get

# The most props one batch request may carry (the API answers 413 above it).
PREDICTION_BATCH_LIMIT = 10_000
# Above this many props of one sport/stat a request is scored without the prediction cache:
# 10,000 cache reads and writes cost more than scoring 10,000 rows in one call.
PREDICTION_CACHE_MAX_BATCH = 500


@dataclass
class PropRequest:
    """One validated prop to price (the API's ``PropRequestSerializer`` documents and checks the
    same fields): ``player`` and ``game`` are a primary key or an external id; a season-horizon
    sport (MLB) names the ``season`` instead of a game."""

    sport: str
    stat: str
    line: float
    player: int | str
    game: int | str | None = None
    season: int | None = None
    over_decimal_odds: float | None = None
    under_decimal_odds: float | None = None


def item_error(index: int, code: str, message: str, field_name: str) -> dict:
    """One batch item's error envelope: ``{"index", "error": {"code", "message", "fields"}}``."""
    return {"index": index, "error": {"code": code, "message": message, "fields": {field_name: [message]}}}


class _TTLCache:
    """A small process-local cache (FIFO eviction, per-entry expiry) for what every request
    would otherwise read again: resolved players and games, and feature rows (which never
    change for a game, player, stat and schema). Bounded: at most ``size`` entries."""

    def __init__(self, *, size: int, ttl_s: float) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._items: dict = {}

    def get(self, key):
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def set(self, key, value) -> None:
        if len(self._items) >= self.size:
            for old in list(self._items)[: max(1, self.size // 10)]:
                self._items.pop(old, None)
        self._items[key] = (time.monotonic() + self.ttl_s, value)

    def clear(self) -> None:
        self._items.clear()


# Names of players and games shown in answers may lag an import by this long in one process.
# Sizes bound the memory (measured with tracemalloc: ~0.9 KB an entry for a resolved player and
# game, ~0.7 KB for a feature row): about 18 MB and 33 MB at most per process (200,000 entries
# each before: up to ~300 MB); a batch of 10,000 props still fits.
_RESOLVED = _TTLCache(size=20_000, ttl_s=60.0)
_FEATURE_ROWS = _TTLCache(size=50_000, ttl_s=24 * 3600.0)


def serving_caches_clear() -> None:
    _RESOLVED.clear()
    _FEATURE_ROWS.clear()


def _sport_pk(code: str) -> int | None:
    """A sport's primary key, remembered per process like the other resolved names."""
    key = ("sport", code)
    pk = _RESOLVED.get(key)
    if pk is None:
        pk = selectors.sport_id_map().get(code)
        if pk is not None:
            _RESOLVED.set(key, pk)
    return pk


def _resolve_item(index: int, request: PropRequest, *, season_sport: bool, stat_codes, players, games):
    """(player row, game row) of one request, or its error envelope."""
    if request.stat not in stat_codes:
        message = f"{request.sport} has no stat {request.stat!r} ({', '.join(sorted(stat_codes))})."
        return item_error(index, "unknown_stat", message, "stat")
    player = players.get(request.player) if isinstance(request.player, int) else players.get(str(request.player))
    if player is None:
        return item_error(index, "unknown_player", f"No {request.sport} player {request.player!r}.", "player")
    if request.game is not None:
        game, field_name = games.get(request.game), "game"
    else:
        game, field_name = games.get(("season", request.season)), "season"
    if game is None:
        what = request.game if request.game is not None else request.season
        return item_error(index, f"unknown_{field_name}", f"No {request.sport} {field_name} {what!r}.", field_name)
    if (game["kind"] == Game.Kind.SEASON) != season_sport:
        horizon = "season" if season_sport else "game"
        message = f"{request.sport} props settle on a {horizon}; name the {horizon}."
        return item_error(index, "wrong_horizon", message, field_name)
    return player, game


def prop_requests_resolve(requests: list[PropRequest]) -> tuple[list, dict[int, dict], dict, dict]:
    """Natural keys → rows in two queries per sport: (resolved, errors by index, players, games).
    ``resolved`` holds (index, request, game_id, player_id)."""
    by_sport: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        by_sport.setdefault(request.sport, []).append(index)
    players: dict[int, dict] = {}
    games: dict[int, dict] = {}
    resolved, errors = [], {}
    for sport, indexes in by_sport.items():
        definition = SPORTS.get(sport)
        if definition is None:
            for index in indexes:
                errors[index] = item_error(index, "unknown_sport", f"Unknown sport {sport!r}.", "sport")
            continue
        season_sport = definition.horizon == "season"
        items = [requests[i] for i in indexes]
        sport_pk = _sport_pk(sport)
        player_of: dict = {}
        for row in selectors.players_by_keys(
            sport_id=sport_pk,
            pks={r.player for r in items if isinstance(r.player, int)},
            external_ids={str(r.player) for r in items if not isinstance(r.player, int)},
        ):
            player_of[row["pk"]] = player_of[row["external_id"]] = row
        game_of: dict = {}
        for row in selectors.games_by_keys(
            sport_id=sport_pk,
            pks={r.game for r in items if isinstance(r.game, int)},
            external_ids={r.game for r in items if isinstance(r.game, str)},
            seasons={r.season for r in items if r.season is not None} if season_sport else (),
        ):
            game_of[row["pk"]] = game_of[row["external_id"]] = row
            if row["kind"] == Game.Kind.SEASON:
                game_of[("season", row["season"])] = row
        stat_codes = {stat.code for stat in definition.stats}
        for index in indexes:
            found = _resolve_item(
                index,
                requests[index],
                season_sport=season_sport,
                stat_codes=stat_codes,
                players=player_of,
                games=game_of,
            )
            if isinstance(found, dict):
                errors[index] = found
                continue
            player, game = found
            players[player["pk"]] = player
            games[game["pk"]] = game
            resolved.append((index, requests[index], game["pk"], player["pk"]))
    return resolved, errors, players, games


def _resolve_cached(requests: list[PropRequest]) -> tuple[list, dict[int, dict], dict, dict]:
    """``prop_requests_resolve`` through the process-local cache (only misses reach the database)."""
    resolved, errors, players, games = [], {}, {}, {}
    missing: list[int] = []
    for index, request in enumerate(requests):
        key = (request.sport, request.stat, request.player, request.game, request.season)
        hit = _RESOLVED.get(key)
        if hit is None:
            missing.append(index)
            continue
        player, game = hit
        players[player["pk"]] = player
        games[game["pk"]] = game
        resolved.append((index, request, game["pk"], player["pk"]))
    if missing:
        found, found_errors, found_players, found_games = prop_requests_resolve([requests[i] for i in missing])
        players.update(found_players)
        games.update(found_games)
        for position, request, game, player in found:
            index = missing[position]
            resolved.append((index, request, game, player))
            _RESOLVED.set(
                (request.sport, request.stat, request.player, request.game, request.season),
                (found_players[player], found_games[game]),
            )
        for position, error in found_errors.items():
            errors[missing[position]] = {**error, "index": missing[position]}
    return resolved, errors, players, games


def _features_cached(*, sport: str, stat: str, targets: list[tuple[int, int]]) -> dict:
    out, missing = {}, []
    for target in targets:
        hit = _FEATURE_ROWS.get((stat, *target))
        if hit is None:
            missing.append(target)
        else:
            out[target] = hit
    if missing:
        for target, value in prop_features_get(sport=sport, stat=stat, targets=missing, build="history").items():
            _FEATURE_ROWS.set((stat, *target), value)
            out[target] = value
    return out


def prediction_answer(
    *, prediction_id, request: PropRequest, result: dict, edge, side, player: dict, game: dict, cached: bool, model
) -> dict:
    """The API's prediction object (``PredictionSerializer`` documents it; a test checks that
    every answer validates against it)."""
    return {
        "id": prediction_id,
        "sport": request.sport,
        "stat": request.stat,
        "line": request.line,
        "player": {"id": player["pk"], "external_id": player["external_id"], "name": player["name"]},
        "game": {
            "id": game["pk"],
            "external_id": game["external_id"],
            "kind": game["kind"],
            "season": game["season"],
            "date": game["date"].isoformat(),
        },
        "mean": result["mean"],
        "p_over": result["p_over"],
        "p_under": result["p_under"],
        "p_push": result["p_push"],
        "over_decimal_odds": request.over_decimal_odds,
        "under_decimal_odds": request.under_decimal_odds,
        "edge": edge,
        "side": side,
        "model_version": {"id": model.version_id, "name": model.name, "version": model.version},
        "cached": cached,
        "simulated": bool(game["simulated"] or player["simulated"]),
    }


def _score_group(*, inference, model, stat: str, scored: list, features: dict, players: dict, games: dict, now):
    """Score one sport/stat's resolved items: (answers by index, rows to store, pending cache
    entries in the rows' order)."""
    X = np.vstack([features[(game, player)][0] for _, _, game, player in scored])
    hashes = [features[(game, player)][1] for _, _, game, player in scored]
    lines = [request.line for _, request, _, _ in scored]
    anchors = [book_anchor(r.over_decimal_odds, r.under_decimal_odds) for _, r, _, _ in scored]
    # Large batches skip the prediction cache: scoring a row costs less than a cache round trip.
    use_cache = len(scored) <= PREDICTION_CACHE_MAX_BATCH
    results, cached = inference.predict(
        model, X, lines, hashes, anchors=anchors, use_cache=use_cache, write_cache=False
    )
    over = np.array([np.nan if r.over_decimal_odds is None else r.over_decimal_odds for _, r, _, _ in scored])
    under = np.array([np.nan if r.under_decimal_odds is None else r.under_decimal_odds for _, r, _, _ in scored])
    edge, side = edges([r["p_over"] for r in results], [r["p_under"] for r in results], over, under)
    edge_values = [None if value != value else value for value in edge.tolist()]
    answers, rows, pending = {}, [], []
    for position, (index, request, game, player) in enumerate(scored):
        result = results[position]
        answer = prediction_answer(
            prediction_id=result.get("id"),
            request=request,
            result=result,
            edge=edge_values[position],
            side=str(side[position]) or None,
            player=players[player],
            game=games[game],
            cached=cached[position],
            model=model,
        )
        answers[index] = answer
        if cached[position]:
            continue
        rows.append(
            writes.PredictionRow(
                prop_line_id=None,
                game_id=game,
                player_id=player,
                stat=stat,
                line=request.line,
                over_decimal_odds=request.over_decimal_odds,
                under_decimal_odds=request.under_decimal_odds,
                model_version_id=model.version_id,
                weights_id=model.weights_id,
                shadow=False,
                source=Prediction.Source.API.value,
                mean=result["mean"],
                p_over=result["p_over"],
                p_under=result["p_under"],
                p_push=result["p_push"],
                edge=edge_values[position],
                side=str(side[position]),
                member_probabilities=orjson.dumps(result["members"]).decode(),
                feature_hash=hashes[position],
                simulated=answer["simulated"],
                created_at=now,
                outcome="",
            )
        )
        key = model.cache_key(hashes[position], request.line, anchors[position]) if use_cache else None
        pending.append((answer, key, result))
    return answers, rows, pending


NO_HISTORY = "No feature row for this player in this game (no history, or not on either team)."


def predictions_create(*, requests: list[PropRequest]) -> list[dict]:
    """Price props with the production model of each sport/stat. Returns one dict per
    request, in order: ``{"index", "prediction": {...}}`` or ``{"index", "error": {"code",
    "message", "fields"}}``; a bad item gets its own error and nothing is stored for it.

    A computed prediction is stored (one Prediction with the version and weights that made
    it) and cached under the version, weights, feature hash, line and the book's de-vigged
    price (the probabilities are pooled with it; engine.calibration). A cached answer is that
    stored prediction (same ``id``, version and probabilities, ``cached: true``), not stored
    again; the edge is always computed from the odds of the request. Shadow models do not
    score API requests (they score the book's props in ``slate_predict``)."""
    resolved, errors, players, games = _resolve_cached(requests)
    groups: dict[tuple[str, str], list] = {}
    for item in resolved:
        groups.setdefault((item[1].sport, item[1].stat), []).append(item)
    out: list[dict | None] = [None] * len(requests)
    rows: list[writes.PredictionRow] = []
    pending: list[tuple] = []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    inference = service()
    for (sport, stat), items in groups.items():
        model = inference.production(sport, stat)
        if model is None:
            for index, *_ in items:
                errors[index] = item_error(index, "no_model", inference.unavailable_reason(sport, stat), "stat")
            continue
        features = _features_cached(sport=sport, stat=stat, targets=[(game, player) for _, _, game, player in items])
        scored = [item for item in items if (item[2], item[3]) in features]
        for item in items:
            if (item[2], item[3]) not in features:
                errors[item[0]] = item_error(item[0], "no_history", NO_HISTORY, "player")
        if not scored:
            continue
        answers, group_rows, group_pending = _score_group(
            inference=inference,
            model=model,
            stat=stat,
            scored=scored,
            features=features,
            players=players,
            games=games,
            now=now,
        )
        for index, answer in answers.items():
            out[index] = {"index": index, "prediction": answer}
        rows += group_rows
        pending += group_pending
    ids = writes.predictions_insert(rows)
    fresh: dict[str, dict] = {}
    for prediction_id, (answer, key, result) in zip(ids, pending, strict=True):
        answer["id"] = prediction_id
        if key is not None:
            fresh[key] = {**result, "id": prediction_id}
    if fresh:
        inference.remember(fresh)
    for index, error in errors.items():
        out[index] = error
    return out


def predictions_batch(*, parsed: list[tuple[PropRequest | None, dict[str, list[str]]]]) -> dict:
    """A batch request's answer from its parsed items (each a PropRequest, or None and the
    item's field errors): every item answered in order with its ``index``, ``prediction`` or
    ``error`` (fields named ``props[i].field``), and the counts."""
    answers: list[dict | None] = [None] * len(parsed)
    requests, positions = [], []
    for index, (prop, errors) in enumerate(parsed):
        if prop is None:
            message = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
            fields = {f"props[{index}].{field}": messages for field, messages in errors.items()}
            answers[index] = {"index": index, "error": {"code": "invalid", "message": message, "fields": fields}}
        else:
            requests.append(prop)
            positions.append(index)
    for position, answer in zip(positions, predictions_create(requests=requests), strict=True):
        answer["index"] = position
        if "error" in answer:
            answer["error"]["fields"] = {f"props[{position}].{k}": v for k, v in answer["error"]["fields"].items()}
        answers[position] = answer
    failed = sum("error" in answer for answer in answers)
    return {
        "count": len(parsed),
        "answered": len(parsed) - failed,
        "errors": failed,
        "limit": PREDICTION_BATCH_LIMIT,
        "results": answers,
    }


def prediction_create(*, request: PropRequest) -> dict:
    """One prop: the prediction dict, or ApplicationError (400/404) naming the bad field."""
    [answer] = predictions_create(requests=[request])
    if "error" in answer:
        error = answer["error"]
        status = 404 if error["code"] in ("no_model",) else 400
        raise ApplicationError(error["message"], code=error["code"], status_code=status, fields=error["fields"])
    return answer["prediction"]


def prediction_distribution(*, prediction: Prediction) -> dict | None:
    """The model's predictive distribution of the stat for a stored prediction: the ensemble
    version's member distributions at the prediction's feature row, mixed with the weights it
    was served with. {"values", "probabilities", "family"}; None if the row or model is gone.
    (Line probabilities on the page are the stored ones, which include line calibration.)"""
    schema = feature_schema_for(prediction.game.sport.code, prediction.stat)
    stored = selectors.prop_feature_rows(
        stat=prediction.stat,
        schema_version=schema.version,
        game_ids=[prediction.game_id],
        player_ids=[prediction.player_id],
    )
    if not stored:
        return None
    ensemble = service().ensemble_for_version(prediction.model_version_id)
    if ensemble is None:
        return None
    kinds = ensemble.member_kinds
    weights = np.asarray(ensemble.weights, float)
    if prediction.weights is not None:
        chosen = np.array([float(prediction.weights.weights.get(kind, 0.0)) for kind in kinds])
        if chosen.sum() > 0:
            weights = chosen / chosen.sum()
    params = ensemble.predict_params(np.frombuffer(bytes(stored[0][2]), dtype=np.float64).reshape(1, -1))
    high = int(max(np.ceil(prediction.line * 2.2), np.ceil(prediction.mean * 2.5), 10))
    low = 0 if ensemble.family == "negbin" else int(min(np.floor(prediction.mean * -0.2), 0))
    values = np.arange(low, high + 1)
    probabilities = np.zeros(len(values))
    for column, weight in enumerate(weights):
        probabilities += weight * np.exp(
            log_pmf(ensemble.family, params.mean[0, column], params.dispersion[0, column], values)
        )
    return {"values": values.tolist(), "probabilities": probabilities.tolist(), "family": ensemble.family}
