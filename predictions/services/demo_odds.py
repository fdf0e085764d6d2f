"""The demo's odds feed: a day's demo slate (``demo_slate.demo_slate_create``, which ``make run``
posts for today) played forward by ``engine.odds_feed``, as rows of live's odds feed format.

A use case of its own module because it only reads: the slate's posted quotes in one query,
then the engine. Replaying the feed (``replay_odds``) is what writes, through live's ingest
and ``services.odds_ticks``.
"""

from __future__ import annotations

import datetime as dt

from a1site.core.errors import ApplicationError

from ..engine.odds_feed import FeedTick, SlateQuote, generate_feed
from ..engine.sports import SPORTS
from ..models import PropLine
from . import demo_slate

# The feed starts this long after the slate's book posted (the demo slate posts at 12:00 UTC).
FEED_START_AFTER_POST = dt.timedelta(minutes=1)
DEMO_FEED_SPORTS = tuple(code for code, sport in SPORTS.items() if sport.simulated and sport.horizon == "game")


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
