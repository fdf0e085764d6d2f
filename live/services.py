"""Live use cases: publish, topic access, feed ingest (odds ticks, game events), preferences."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from a1site.core.errors import ApplicationError
from a1site.jobs.models import Job

from .backends import get_broker
from .engine.feed import (
    GAME_COLUMNS,
    ODDS_COLUMNS,
    FeedError,
    GameEventIn,
    OddsTickIn,
    parse_game_row,
    parse_odds_row,
    parse_rows,
    read_csv,
)
from .engine.protocol import ProtocolError, validate_topic
from .engine.steam import LinePoint, detect_steam
from .models import AlertPreference, GameEvent, OddsTick
from .registry import register_topic, rule_for
from .signals import game_final, odds_tick_received

logger = logging.getLogger(__name__)

FEEDERS_GROUP = "feeders"


# --- publish -------------------------------------------------------------------------------


def publish(topic: str, type: str, data, *, stream: str | None = None) -> int | None:
    """Push ``{"topic", "seq", "type", "ts", "data"}`` to the topic's subscribers.

    Inside an atomic block the message leaves after commit (and not at all on rollback);
    returns the assigned seq when sent now, None when deferred.
    """
    validate_topic(topic)
    stream = validate_topic(stream or topic)
    ts = timezone.now().isoformat(timespec="milliseconds")

    def send() -> int:
        return get_broker().publish(stream=stream, topic=topic, type=type, ts=ts, data=data)

    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(send, robust=True)
        return None
    return send()


def publish_alert(*, user_id: int, type: str, data) -> int | None:
    """A personal alert: clients subscribe to ``alerts``; it is stored per user."""
    return publish("alerts", type, data, stream=f"alerts.{user_id}")


# --- who may read what ------------------------------------------------------------------------


def user_for_token(*, key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


def topics_authorize(*, user, topics: list[str]) -> dict[str, tuple[str | None, ProtocolError | None]]:
    """topic → (stream, None) if the user may read it, else (None, the error to send)."""
    answers: dict[str, tuple[str | None, ProtocolError | None]] = {}
    for topic in topics:
        rule = rule_for(topic)
        if rule is None:
            prefix = topic.split(".", 1)[0]
            answers[topic] = (None, ProtocolError("unknown_topic", f"No topics named {prefix!r}.*", topic=topic))
            continue
        try:
            allowed = bool(rule.authorize(user, topic))
        except Exception:
            logger.exception("live: authorize failed for %s", topic)
            allowed = False
        if not allowed:
            answers[topic] = (None, ProtocolError("forbidden", f"You may not read {topic!r}.", topic=topic))
        else:
            answers[topic] = (rule.stream(user, topic) if rule.stream else topic, None)
    return answers


def _authenticated(user, topic) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _odds_topic(user, topic: str) -> bool:
    parts = topic.split(".")
    return _authenticated(user, topic) and (len(parts) == 2 or (len(parts) == 3 and parts[1] == "game"))


def _games_topic(user, topic: str) -> bool:
    return _authenticated(user, topic) and len(topic.split(".")) == 2


def _job_owner(user, topic: str) -> bool:
    parts = topic.split(".")
    if not _authenticated(user, topic) or len(parts) != 2:
        return False
    try:
        job_id = uuid.UUID(parts[1])
    except ValueError:
        return False
    return Job.objects.filter(pk=job_id, owner_id=user.pk).exists()


def register_builtin_topics() -> None:
    register_topic("odds", _odds_topic)
    register_topic("games", _games_topic)
    register_topic("jobs", _job_owner)
    register_topic(
        "alerts",
        lambda user, topic: _authenticated(user, topic) and topic == "alerts",
        stream=lambda user, topic: f"alerts.{user.pk}",
    )


def on_job_updated(sender, job: dict, **kwargs) -> None:
    """a1site.jobs' signal (sent after commit) → ``jobs.{id}`` for the job's owner."""
    try:
        publish(f"jobs.{job['id']}", "job.progress", job)
    except Exception:
        logger.exception("live: could not publish job progress", extra={"job_id": job.get("id")})


# --- odds feed --------------------------------------------------------------------------------


def _feed_error(exc: FeedError) -> ApplicationError:
    return ApplicationError(str(exc), code="invalid_feed", fields=exc.errors)


def odds_feed_parse(*, text: str) -> list[OddsTickIn]:
    try:
        return parse_rows(read_csv(text, ODDS_COLUMNS), parse_odds_row)
    except FeedError as exc:
        raise _feed_error(exc)


def game_feed_parse(*, text: str) -> list[GameEventIn]:
    try:
        return parse_rows(read_csv(text, GAME_COLUMNS), parse_game_row)
    except FeedError as exc:
        raise _feed_error(exc)


def _previous_lines(ticks: list[OddsTickIn]) -> dict[tuple, Decimal]:
    """The last stored line of each (sport, game, player, stat, book) in this batch: one query."""
    games = {t.game for t in ticks}
    earliest = min(t.ts for t in ticks)
    latest: dict[tuple, Decimal] = {}
    rows = (
        OddsTick.objects.filter(game_external_id__in=games, ts__lte=earliest)
        .order_by("ts", "id")
        .values_list("sport", "game_external_id", "player_name", "stat", "book", "line")
    )
    for sport, game, player, stat, book, line in rows:
        latest[(sport, game, player, stat, book)] = line
    return latest


def _tick_kind(previous: Decimal | None, line: Decimal) -> str:
    if previous is None:
        return "odds.open"
    return "odds.line_move" if line != previous else "odds.price_change"


def odds_ingest(*, ticks: list[OddsTickIn], source: str = OddsTick.Source.API) -> list[OddsTick]:
    """Store ticks, publish ``odds.{sport}`` and ``odds.game.{game}``, raise steam alerts;
    all after commit, all or nothing."""
    if not ticks:
        return []
    ticks = sorted(ticks, key=lambda t: t.ts)
    with transaction.atomic():
        previous = _previous_lines(ticks)
        rows = OddsTick.objects.bulk_create(
            [
                OddsTick(
                    sport=t.sport,
                    game_external_id=t.game,
                    player_name=t.player,
                    player_external_id=t.player_id,
                    stat=t.stat,
                    book=t.book,
                    line=t.line,
                    over_odds=t.over_odds,
                    under_odds=t.under_odds,
                    ts=t.ts,
                    source=source,
                )
                for t in ticks
            ]
        )
        moved: dict[tuple, OddsTickIn] = {}
        for tick, row in zip(ticks, rows, strict=True):
            prev = previous.get(tick.key)
            previous[tick.key] = tick.line
            data = {**tick.as_dict(), "id": row.pk, "prev_line": float(prev) if prev is not None else None}
            kind = _tick_kind(prev, tick.line)
            publish(f"odds.{tick.sport}", kind, data)
            publish(f"odds.game.{tick.game}", kind, data)
            transaction.on_commit(lambda data=data: odds_tick_received.send(sender=OddsTick, tick=data), robust=True)
            if kind == "odds.line_move":
                moved[(tick.sport, tick.game, tick.player, tick.stat)] = tick
        if moved:
            _steam_check(list(moved.values()))
    return rows


def _steam_check(ticks: list[OddsTickIn]) -> None:
    window = timedelta(minutes=settings.LIVE_STEAM_WINDOW_MIN)
    min_move = Decimal(str(settings.LIVE_STEAM_MIN_MOVE))
    start = min(t.ts for t in ticks) - 2 * window
    points: dict[tuple, list[LinePoint]] = defaultdict(list)
    rows = OddsTick.objects.filter(
        game_external_id__in={t.game for t in ticks}, ts__gte=start, ts__lte=max(t.ts for t in ticks)
    ).values_list("sport", "game_external_id", "player_name", "stat", "book", "line", "ts")
    for sport, game, player, stat, book, line, ts in rows:
        points[(sport, game, player, stat)].append(LinePoint(book, line, ts))
    recipients = None
    for tick in ticks:
        move = detect_steam(
            points[(tick.sport, tick.game, tick.player, tick.stat)],
            now=tick.ts,
            window=window,
            min_move=min_move,
            min_books=settings.LIVE_STEAM_MIN_BOOKS,
        )
        if move is None:
            continue
        identity = f"{tick.sport}|{tick.game}|{tick.player}|{tick.stat}|{move.direction}"
        marker = "live:steam:" + hashlib.sha1(identity.encode(), usedforsecurity=False).hexdigest()
        if not cache.add(marker, 1, timeout=int(window.total_seconds())):
            continue  # already announced within the window
        data = {
            "sport": tick.sport,
            "game": tick.game,
            "player": tick.player,
            "stat": tick.stat,
            "direction": move.direction,
            "books": list(move.books),
            "move": float(move.move),
            "line": float(tick.line),
            "window_minutes": settings.LIVE_STEAM_WINDOW_MIN,
            "ts": tick.ts.isoformat(),
        }
        publish(f"odds.{tick.sport}", "odds.steam", data)
        if recipients is None:
            recipients = list(AlertPreference.objects.filter(steam=True).values_list("user_id", flat=True))
        for user_id in recipients:
            publish_alert(user_id=user_id, type="alert.steam", data=data)


# --- game feed --------------------------------------------------------------------------------


def game_events_ingest(*, events: list[GameEventIn]) -> list[GameEvent]:
    """Store game events, publish ``games.{game}``; a final result sends ``game_final`` after commit."""
    if not events:
        return []
    events = sorted(events, key=lambda e: e.ts)
    with transaction.atomic():
        rows = GameEvent.objects.bulk_create(
            [
                GameEvent(
                    sport=e.sport,
                    game_external_id=e.game,
                    kind=e.kind,
                    home_team=e.home_team,
                    away_team=e.away_team,
                    home_score=e.home_score,
                    away_score=e.away_score,
                    period=e.period,
                    detail=e.detail,
                    ts=e.ts,
                )
                for e in events
            ]
        )
        for event, row in zip(events, rows, strict=True):
            data = {**event.as_dict(), "id": row.pk}
            publish(f"games.{event.game}", f"game.{event.kind}", data)
            if event.kind == GameEvent.Kind.FINAL:
                transaction.on_commit(lambda data=data: game_final.send(sender=GameEvent, game=data), robust=True)
    return rows


# --- alert preferences ---------------------------------------------------------------------------


def alert_preference_get(*, user) -> AlertPreference:
    preference, _ = AlertPreference.objects.get_or_create(user=user)
    return preference


def alert_preference_update(*, user, min_edge: Decimal | None = None, steam: bool | None = None) -> AlertPreference:
    with transaction.atomic():
        preference, _ = AlertPreference.objects.select_for_update().get_or_create(user=user)
        fields = []
        if min_edge is not None:
            preference.min_edge = min_edge
            fields.append("min_edge")
        if steam is not None:
            preference.steam = steam
            fields.append("steam")
        preference.full_clean()
        preference.save(update_fields=[*fields, "updated_at"])
    return preference


def user_is_feeder(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or user.groups.filter(name=FEEDERS_GROUP).exists()


def recent_ticks(*, sport: str | None = None, limit: int = 50) -> list[OddsTick]:
    queryset = OddsTick.objects.all()
    if sport:
        queryset = queryset.filter(sport=sport)
    return list(queryset[: max(1, min(limit, 500))])
