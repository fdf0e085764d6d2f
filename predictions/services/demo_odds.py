"""The demo's odds feed: a day's demo slate (``demo_slate.demo_slate_create``, which ``make run``
posts for today) played forward by ``engine.odds_feed``, as rows of live's odds feed format.

Building the feed only reads: the slate's posted quotes in one query, then the engine.
Playing it writes, through live's ingest (``live.services.odds_ingest``, as ``replay_odds``
does) and ``services.odds_ticks``: ``demo_odds_feed_play`` plays today's feed in real time at
``A1_DEMO_ODDS_FEED_SPEED`` (feed seconds per second), each step stamped with the moment it
goes in, and starts again from the posted quotes when the feed's half hour is over. The
embedded server runs it in a thread from start-up (``demo_odds_feed_start``, an ASGI
lifespan hook, ``A1_DEMO_ODDS_FEED``); ``manage.py play_demo_odds`` runs it in the
foreground (the services mode's way). Every tick is labelled simulated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from a1site.core.errors import ApplicationError
from live.services import odds_feed_parse, odds_ingest

from ..engine.odds_feed import FeedTick, SlateQuote, feed_csv, generate_feed
from ..engine.sports import SPORTS
from ..models import PropLine
from . import demo_slate

# The feed starts this long after the slate's book posted (the demo slate posts at 12:00 UTC).
FEED_START_AFTER_POST = dt.timedelta(minutes=1)
DEMO_FEED_SPORTS = tuple(code for code, sport in SPORTS.items() if sport.simulated and sport.horizon == "game")
# Without a slate today (none posted yet, or the day turned), the player looks again this often.
NO_SLATE_RETRY_S = 60.0
# live's OddsTick source for the played feed: a replay of a written feed, as replay_odds stores.
REPLAY_SOURCE = "replay"
# After a failed pass (logged), the player waits this long before the next.
FAILED_PASS_RETRY_S = 30.0

logger = logging.getLogger(__name__)


def demo_slate_quotes(*, date: dt.date, sport: str) -> tuple[list[SlateQuote], dt.datetime | None]:
    """The slate book's first (posted) quote of each prop of ``sport``'s demo slate on ``date``,
    and when it was posted; quotes a replayed feed added later do not change the answer."""
    rows = (
        PropLine.objects.filter(game__sport__code=sport, game__date=date, book=demo_slate.DEMO_SLATE_BOOK)
        .order_by("game__external_id", "player__external_id", "stat", "seen_at", "pk")
        .values_list(
            "game__external_id",
            "player__name",
            "player__external_id",
            "player__role",
            "stat",
            "book",
            "line",
            "over_decimal_odds",
            "under_decimal_odds",
            "seen_at",
        )
    )
    quotes: dict[tuple[str, str, str], SlateQuote] = {}
    posted = None
    for game, name, player_id, role, stat, book, line, over, under, seen_at in rows:
        if (game, player_id, stat) in quotes:
            continue
        quotes[(game, player_id, stat)] = SlateQuote(
            sport=sport,
            game=game,
            player=name,
            player_id=player_id,
            role=role,
            stat=stat,
            book=book,
            line=line,
            over_odds=over,
            under_odds=under,
        )
        posted = seen_at if posted is None else max(posted, seen_at)
    return list(quotes.values()), posted


def demo_odds_feed_build(
    *,
    date: dt.date,
    sports: list[str] | None = None,
    seed: int = 0,
    minutes: float = 30.0,
    props_per_sport: int | None = 40,
) -> list[FeedTick]:
    """The demo odds feed of ``date``'s demo slate for ``sports`` (default: the simulated game
    sports), starting a minute after the slate was posted. Raises ApplicationError
    ``no_demo_slate`` (naming the command that posts one) if a sport has no slate that day."""
    sports = list(sports or DEMO_FEED_SPORTS)
    quotes: list[SlateQuote] = []
    posted_at = []
    for sport in sports:
        if sport not in DEMO_FEED_SPORTS:
            raise ApplicationError(
                f"The demo odds feed is for the simulated game sports {list(DEMO_FEED_SPORTS)}, not {sport!r}.",
                code="no_demo_slate",
                fields={"sport": ["Not a simulated game sport."]},
            )
        sport_quotes, posted = demo_slate_quotes(date=date, sport=sport)
        if not sport_quotes:
            raise ApplicationError(
                f"No {sport} demo slate on {date:%Y-%m-%d}: post one with "
                f"`python manage.py predict_slate --sport {sport} --date {date:%Y-%m-%d} --demo-slate` "
                "(make run does this for today).",
                code="no_demo_slate",
                fields={"date": [f"No {sport} demo slate."]},
            )
        quotes += sport_quotes
        posted_at.append(posted)
    return generate_feed(
        quotes,
        seed=seed,
        start=max(posted_at) + FEED_START_AFTER_POST,
        minutes=minutes,
        props_per_sport=props_per_sport,
    )


def demo_slate_sports(*, date: dt.date) -> list[str]:
    """The simulated game sports with a demo slate posted on ``date``."""
    posted = (
        PropLine.objects.filter(
            game__sport__code__in=DEMO_FEED_SPORTS, game__date=date, book=demo_slate.DEMO_SLATE_BOOK
        )
        .values_list("game__sport__code", flat=True)
        .distinct()
    )
    return [sport for sport in DEMO_FEED_SPORTS if sport in set(posted)]


def demo_odds_feed_play(
    *,
    stop: threading.Event,
    speed: float,
    seed: int = 0,
    minutes: float = 30.0,
    props_per_sport: int | None = 40,
    passes: int | None = None,
    date: dt.date | None = None,
) -> int:
    """Play today's demo odds feed (``demo_odds_feed_build`` for the sports with a slate today)
    in real time at ``speed`` feed seconds per second until ``stop`` is set (or ``passes``
    passes are done), each step ingested with the current time as its timestamp; ``date``
    plays that day's slate instead of today's (UTC). Returns the number of ticks ingested. A
    pass that fails is logged and retried after a pause."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    ingested = done = 0
    while not stop.is_set() and (passes is None or done < passes):
        try:
            day = date or timezone.now().date()
            sports = demo_slate_sports(date=day)
            if not sports:
                logger.info("demo odds feed: no demo slate on %s yet; looking again in %.0f s", day, NO_SLATE_RETRY_S)
                stop.wait(NO_SLATE_RETRY_S)
                continue
            ticks = demo_odds_feed_build(
                date=day, sports=sports, seed=seed, minutes=minutes, props_per_sport=props_per_sport
            )
            # Through live's own parser, so the rows are exactly what replay_odds would ingest.
            items = odds_feed_parse(text=feed_csv(ticks, header=[]), simulated=True)
            steps = [list(group) for _, group in itertools.groupby(items, key=lambda item: item.ts)]
            logger.info("demo odds feed: %d simulated ticks on %s at %gx", len(items), ", ".join(sports), speed)
            first, started = steps[0][0].ts if steps else None, time.monotonic()
            for step in steps:
                due = started + (step[0].ts - first).total_seconds() / speed
                if stop.wait(max(0.0, due - time.monotonic())):
                    break
                now = timezone.now()
                odds_ingest(ticks=[dataclasses.replace(item, ts=now) for item in step], source=REPLAY_SOURCE)
                ingested += len(step)
            done += 1
        except Exception:
            logger.exception("demo odds feed: a pass failed; trying again in %.0f s", FAILED_PASS_RETRY_S)
            stop.wait(FAILED_PASS_RETRY_S)
        finally:
            close_old_connections()
    return ingested


def demo_odds_feed_start():
    """Lifespan hook: play the demo feed in a daemon thread of this server process when
    ``A1_DEMO_ODDS_FEED`` is on; returns what stops it (None when off)."""
    if not settings.A1_DEMO_ODDS_FEED:
        return None
    stop = threading.Event()

    def run() -> None:
        try:
            demo_odds_feed_play(stop=stop, speed=settings.A1_DEMO_ODDS_FEED_SPEED)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="demo-odds-feed", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=5)

    return halt
