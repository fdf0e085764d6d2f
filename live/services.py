"""Live use cases: publish, topic access, feed ingest (odds ticks, game events), preferences."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from a1site.accounts.authentication import is_token_key
from a1site.core.errors import ApplicationError
from a1site.core.resilience import require_redis
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
from .engine.topics import topic_part
from .models import AlertPreference, GameEvent, OddsTick
from .registry import register_topic, rule_for
from .signals import game_final, odds_ticks_received

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
    if not is_token_key(key):
        return None
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


@dataclass(frozen=True)
class OddsFeedTick(OddsTickIn):
    """A validated tick with the feed's ``simulated`` label (``as_dict`` carries it)."""

    simulated: bool = False


@dataclass(frozen=True)
class GameFeedEvent(GameEventIn):
    """A validated game event with the feed's ``simulated`` label (``as_dict`` carries it)."""

    simulated: bool = False


_TRUE_WORDS = ("true", "1", "yes", "y", "t")
_FALSE_WORDS = ("false", "0", "no", "n", "f")


def _labelled_row_parse(row: dict, parse, labelled: type, *, simulated: bool):
    """``parse(row)`` (the engine's checks) plus the optional ``simulated`` column (true/false,
    1/0, yes/no; empty or absent: ``simulated``), as ``labelled``. Errors read like the engine's."""
    errors: list[str] = []
    item = None
    try:
        item = parse(row)
    except ValueError as exc:
        errors += str(exc).split("; ")
    raw = row.get("simulated") if isinstance(row, dict) else None
    flag = simulated
    if isinstance(raw, bool):
        flag = raw
    elif raw is not None and str(raw).strip():
        text = str(raw).strip().lower()
        if text in _TRUE_WORDS:
            flag = True
        elif text in _FALSE_WORDS:
            flag = False
        else:
            errors.append(f"simulated: not true or false ({str(raw)[:20]!r})")
    if errors:
        raise ValueError("; ".join(errors))
    return labelled(**{f.name: getattr(item, f.name) for f in fields(item)}, simulated=flag)


def odds_row_parse(row: dict, *, simulated: bool = False) -> OddsFeedTick:
    """One odds feed row (CSV or JSON) with its ``simulated`` label."""
    return _labelled_row_parse(row, parse_odds_row, OddsFeedTick, simulated=simulated)


def game_row_parse(row: dict, *, simulated: bool = False) -> GameFeedEvent:
    """One game feed row (CSV or JSON) with its ``simulated`` label."""
    return _labelled_row_parse(row, parse_game_row, GameFeedEvent, simulated=simulated)


def odds_feed_parse(*, text: str, simulated: bool = False) -> list[OddsFeedTick]:
    """A CSV feed; ``simulated`` labels the rows whose ``simulated`` column is absent or empty."""
    try:
        return parse_rows(read_csv(text, ODDS_COLUMNS), lambda row: odds_row_parse(row, simulated=simulated))
    except FeedError as exc:
        raise _feed_error(exc)


def game_feed_parse(*, text: str, simulated: bool = False) -> list[GameFeedEvent]:
    """A CSV feed; ``simulated`` labels the rows whose ``simulated`` column is absent or empty."""
    try:
        return parse_rows(read_csv(text, GAME_COLUMNS), lambda row: game_row_parse(row, simulated=simulated))
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
    """Store ticks, publish ``odds.{sport}`` and ``odds.game.{game}``, raise steam alerts and
    send ``odds_ticks_received`` once with the batch; all after commit, all or nothing. A tick
    without a ``simulated`` label (a plain OddsTickIn) is stored as not simulated."""
    if not ticks:
        return []
    # A tick stored but never published would be missing from every open Live page: refuse
    # the batch (503) while the live broker is unreachable instead.
    require_redis("publish odds")
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
                    simulated=getattr(t, "simulated", False),
                )
                for t in ticks
            ]
        )
        moved: list[OddsTickIn] = []
        batch: list[dict] = []
        for tick, row in zip(ticks, rows, strict=True):
            prev = previous.get(tick.key)
            previous[tick.key] = tick.line
            data = {
                **tick.as_dict(),
                "simulated": row.simulated,
                "id": row.pk,
                "prev_line": float(prev) if prev is not None else None,
            }
            kind = _tick_kind(prev, tick.line)
            publish(f"odds.{tick.sport}", kind, data)
            publish(f"odds.game.{topic_part(tick.game)}", kind, data)
            batch.append(data)
            if kind == "odds.line_move":
                moved.append(tick)
        if moved:
            _steam_check(moved)
        transaction.on_commit(lambda: odds_ticks_received.send(sender=OddsTick, ticks=batch), robust=True)
    return rows


def odds_ticks_get(*, ids: list[int]) -> list[dict]:
    """Stored ticks as the dicts of their ``odds.*`` messages (no ``prev_line``), in time order:
    what a task given tick ids works from."""
    ticks = []
    for row in OddsTick.objects.filter(pk__in=ids).order_by("ts", "id"):
        ticks.append(
            {
                "id": row.pk,
                "ts": row.ts.isoformat(),
                "sport": row.sport,
                "game": row.game_external_id,
                "player": row.player_name,
                "player_id": row.player_external_id,
                "stat": row.stat,
                "book": row.book,
                "line": float(row.line),
                "over_odds": float(row.over_odds),
                "under_odds": float(row.under_odds),
                "simulated": row.simulated,
                "source": row.source,
            }
        )
    return ticks


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
        # Each move sees the same two windows of history whether it came alone or in a batch.
        lookback = tick.ts - 2 * window
        move = detect_steam(
            [p for p in points[(tick.sport, tick.game, tick.player, tick.stat)] if p.ts >= lookback],
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
            "simulated": bool(getattr(tick, "simulated", False)),
        }
        publish(f"odds.{tick.sport}", "odds.steam", data)
        if recipients is None:
            recipients = list(AlertPreference.objects.filter(steam=True).values_list("user_id", flat=True))
        for user_id in recipients:
            publish_alert(user_id=user_id, type="alert.steam", data=data)


# --- game feed --------------------------------------------------------------------------------


def game_events_ingest(*, events: list[GameEventIn]) -> list[GameEvent]:
    """Store game events, publish ``games.{game}``; a final result sends ``game_final`` after commit.
    An event without a ``simulated`` label (a plain GameEventIn) is stored as not simulated."""
    if not events:
        return []
    require_redis("publish game events")
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
                    simulated=getattr(e, "simulated", False),
                )
                for e in events
            ]
        )
        for event, row in zip(events, rows, strict=True):
            data = {**event.as_dict(), "simulated": row.simulated, "id": row.pk}
            publish(f"games.{topic_part(event.game)}", f"game.{event.kind}", data)
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


FEED_REPLAY_USERNAME = "feed-replay"


def feed_replay_token() -> str:
    """The API token of the local ``feed-replay`` user (a 'feeders' member that cannot log in),
    created if missing: ``replay_* --to URL`` posts as it. Whoever can run manage.py can already
    write to this database, so this grants nothing new."""
    with transaction.atomic():
        user, created = get_user_model().objects.get_or_create(username=FEED_REPLAY_USERNAME)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=FEEDERS_GROUP)[0])
        return Token.objects.get_or_create(user=user)[0].key


def user_is_feeder(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or user.groups.filter(name=FEEDERS_GROUP).exists()


def recent_ticks(*, sport: str | None = None, limit: int = 50) -> list[OddsTick]:
    queryset = OddsTick.objects.all()
    if sport:
        queryset = queryset.filter(sport=sport)
    return list(queryset[: max(1, min(limit, 500))])
