"""A seeded odds feed for an upcoming slate: how the simulator's books move their prop lines
between the morning post and game time. Simulated, and every tick says so.

The demo's slate (``demo_slate.demo_slate_create``) has one posted quote per prop, from the
slate's book. This module plays the market forward from there with the book model of
``engine.simulate``, so that replaying the feed moves the demo's own props:

Where the market starts
    A prop's consensus mean is the slate book's own estimate, recovered from its quote: the
    mean at which the stat's family (with the player's role dispersion) gives the quoted
    line the book's de-vigged P(over | no push). Lines move around that, not around the
    truth, which no book knows.

Books
    The slate's book and the simulator's two ("SimBook North", "SimBook South"). Each book
    holds a private log error on each prop, drawn like the simulator's book error (6 % for
    the slate book and North, 9 % for South; the slate book starts at its posted quote,
    error 0). At random times a book re-estimates: its error takes an AR(1) step that keeps
    the same spread (``REESTIMATE_PER_HOUR``, ``REESTIMATE_KEEP``); prices change, and now
    and then the line.

News
    At Poisson times (``NEWS_PER_HOUR`` per prop) news arrives (a lineup change, a rest
    day): a log-normal shock to the consensus mean (``NEWS_SD``). Each book takes it in
    after its own exponential delay (``REACTION_MINUTES``), so several books move the same
    way within minutes: what live's steam detector looks for.

Quotes
    A book's quote is ``simulate.book_quote`` of its mean (consensus x its error): the line at
    its median (a half point, or for the same 15 % of prop-books as the simulator the
    integer median, where pushes can happen), priced from its own view with the 4.5 %
    overround. At the first step every book posts its quote on every prop of the feed; after
    that a row is written only when a book's line or one of its prices changes.

Time runs in steps of ``step_seconds`` from ``start``; a step's rows share its timestamp, so a
replay ingests each step in one call. The same props, seed and start give the same feed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, fields

import numpy as np

from predictions.engine.distributions import prob_over_under_push
from predictions.engine.logs import devig_proportional
from predictions.engine.simulate import BOOK_ERROR_SD, BOOKS, INTEGER_LINE_SHARE, book_quote, role_dispersion
from predictions.engine.sports import get_sport

# Chosen so that a 30-minute demo feed moves about one prop in four on news, the news is worth
# a line move on a typical prop (8 % of the mean, larger than the 6 % book error), books catch
# up within the live steam window (10 minutes), and each book's price changes every half hour
# or so: a ticker that moves without flooding.
NEWS_PER_HOUR = 0.5
NEWS_SD = 0.08
REACTION_MINUTES = 3.0
REESTIMATE_PER_HOUR = 2.0
# An AR(1) step keeps this share of a book's error (and adds fresh error so its spread stays
# the book's): a re-estimate is a partial second look, not a new book.
REESTIMATE_KEEP = 0.8
# The slate's book is as sharp as the simulator's sharper book (demo_slate.DEMO_SLATE_BOOK_ERROR_SD).
SLATE_BOOK_ERROR_SD = BOOK_ERROR_SD[0]


@dataclass(frozen=True)
class SlateQuote:
    """One prop of the slate as its book posted it."""

    sport: str
    game: str  # the game's external id
    player: str  # display name
    player_id: str  # the player's external id
    role: str
    stat: str
    book: str
    line: float
    over_odds: float
    under_odds: float


@dataclass(frozen=True)
class FeedTick:
    """One row of the feed (the columns of live's odds feed format)."""

    ts: dt.datetime
    sport: str
    game: str
    player: str
    player_id: str
    stat: str
    book: str
    line: float
    over_odds: float
    under_odds: float
    simulated: bool = True


# live's odds feed format (its header), in this order.
FEED_COLUMNS = tuple(field.name for field in fields(FeedTick))


def implied_mean(family: str, line, p_over_no_push, dispersion, *, iterations: int = 60) -> np.ndarray:
    """The mean at which ``family`` (with ``dispersion``) gives P(over | no push) at ``line``
    equal to ``p_over_no_push``: P(over) rises with the mean, so bisection on the log mean."""
    line = np.asarray(line, float)
    target = np.asarray(p_over_no_push, float)
    dispersion = np.asarray(dispersion, float)
    if np.any((target <= 0) | (target >= 1)):
        raise ValueError("p_over_no_push must lie strictly between 0 and 1")
    low = np.log(np.full(line.shape, 0.01))
    high = np.log(np.maximum(line, 1.0) * 10.0 + 10.0)
    for _ in range(iterations):
        middle = (low + high) / 2
        view = prob_over_under_push(family, np.exp(middle), dispersion, line)
        p_over = view.p_over / np.maximum(view.p_over + view.p_under, 1e-12)
        below = p_over < target
        low = np.where(below, middle, low)
        high = np.where(below, high, middle)
    return np.exp((low + high) / 2)


def _sample_per_sport(quotes: list[SlateQuote], per_sport: int, seed: int) -> list[SlateQuote]:
    """Up to ``per_sport`` props of each sport, drawn with the seed, in the input's order."""
    kept: list[int] = []
    for sport in sorted({q.sport for q in quotes}):
        indices = [i for i, q in enumerate(quotes) if q.sport == sport]
        rng = np.random.default_rng([seed, len(sport), *sport.encode()])
        kept += rng.permutation(indices)[:per_sport].tolist() if per_sport < len(indices) else indices
    return [quotes[i] for i in sorted(kept)]


def _quote_distributions(quotes: list[SlateQuote]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each prop's distribution family, its role's dispersion and its posted line."""
    families, dispersions = [], []
    for quote in quotes:
        sport = get_sport(quote.sport)
        stat_index = next(i for i, stat in enumerate(sport.stats) if stat.code == quote.stat)
        families.append(sport.stats[stat_index].family)
        dispersions.append(float(role_dispersion(quote.sport, quote.role)[stat_index]))
    return np.array(families), np.array(dispersions), np.array([q.line for q in quotes], float)


def _consensus_means(quotes: list[SlateQuote], families, dispersions, lines) -> np.ndarray:
    """The mean each posted quote implies once its margin is taken out (``implied_mean``)."""
    consensus = np.empty(len(quotes))
    for family in np.unique(families):
        rows = families == family
        fair = devig_proportional(
            np.array([q.over_odds for q in quotes])[rows], np.array([q.under_odds for q in quotes])[rows]
        )
        p_over = np.clip(fair, 0.01, 0.99)  # a usable target for implied_mean
        consensus[rows] = implied_mean(str(family), lines[rows], p_over, dispersions[rows])
    return consensus


@dataclass(frozen=True)
class _StepChances:
    """The chance, within one step, of news on a prop, of a book taking in the market, and of
    a book re-estimating its error."""

    news: float
    react: float
    reestimate: float

    @classmethod
    def every(cls, step_seconds: int) -> _StepChances:
        step_hours = step_seconds / 3600.0
        return cls(
            news=1.0 - np.exp(-NEWS_PER_HOUR * step_hours),
            react=1.0 - np.exp(-step_seconds / 60.0 / REACTION_MINUTES),
            reestimate=1.0 - np.exp(-REESTIMATE_PER_HOUR * step_hours),
        )


def _advance(rng, market, seen, error, *, error_sd, chances: _StepChances):
    """One step of the market: news moves the consensus (``market``, log), books take it in
    (``seen``) and re-estimate their private errors (AR(1)). Returns the new three."""
    n_props, n_books = seen.shape
    fresh = np.sqrt(1.0 - REESTIMATE_KEEP**2)
    news = rng.random(n_props) < chances.news
    market = market + np.where(news, NEWS_SD * rng.standard_normal(n_props), 0.0)
    react = rng.random((n_props, n_books)) < chances.react
    seen = np.where(react, market[:, None], seen)
    reestimate = rng.random((n_props, n_books)) < chances.reestimate
    error = np.where(
        reestimate,
        REESTIMATE_KEEP * error + fresh * error_sd * rng.standard_normal((n_props, n_books)),
        error,
    )
    return market, seen, error


def _step_ticks(
    quotes: list[SlateQuote],
    books: list[str | None],
    *,
    step: int,
    ts: dt.datetime,
    book_mean: np.ndarray,
    families: np.ndarray,
    dispersions: np.ndarray,
    integer_line: np.ndarray,
    last: dict[tuple[int, int], tuple[float, float, float]],
) -> list[FeedTick]:
    """The ticks of one step: each book's quote of each prop that changed since its last
    (``last`` is updated)."""
    n_props = len(quotes)
    ticks = []
    for book in range(len(books)):
        line, over, under = np.empty(n_props), np.empty(n_props), np.empty(n_props)
        for family in np.unique(families):
            rows = families == family
            line[rows], over[rows], under[rows] = book_quote(
                str(family), book_mean[rows, book], dispersions[rows], integer_line[rows, book]
            )
        for prop, quote in enumerate(quotes):
            if step == 0 and book == 0:
                # The slate's book opens with exactly what it posted (the round trip through
                # the implied mean may differ from it by a cent of rounding).
                posted = (float(quote.line), float(quote.over_odds), float(quote.under_odds))
            else:
                posted = (float(line[prop]), float(over[prop]), float(under[prop]))
            if last.get((prop, book)) == posted:
                continue
            last[(prop, book)] = posted
            ticks.append(
                FeedTick(
                    ts=ts,
                    sport=quote.sport,
                    game=quote.game,
                    player=quote.player,
                    player_id=quote.player_id,
                    stat=quote.stat,
                    book=books[book] or quote.book,
                    line=posted[0],
                    over_odds=posted[1],
                    under_odds=posted[2],
                )
            )
    return ticks


def generate_feed(
    quotes: list[SlateQuote],
    *,
    seed: int,
    start: dt.datetime,
    minutes: float = 30.0,
    step_seconds: int = 15,
    props_per_sport: int | None = None,
) -> list[FeedTick]:
    """The feed for ``quotes`` (one posted quote per prop) from ``start`` (aware) for
    ``minutes``, in time order; ``props_per_sport`` (None: all) keeps a seeded sample of each
    sport's props. Deterministic for the same quotes (in any order), seed and start."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    if minutes <= 0 or step_seconds < 1:
        raise ValueError("minutes must be positive and step_seconds at least 1")
    if seed < 0:
        raise ValueError("seed must be 0 or more")
    quotes = sorted(quotes, key=lambda q: (q.sport, q.game, q.player_id, q.stat, q.book))
    keys = [(q.sport, q.game, q.player_id, q.stat) for q in quotes]
    if len(set(keys)) != len(keys):
        raise ValueError("one posted quote per prop (sport, game, player, stat)")
    if props_per_sport is not None:
        quotes = _sample_per_sport(quotes, props_per_sport, seed)
    if not quotes:
        return []
    n_props = len(quotes)
    books = [None, *BOOKS]  # None: each prop's own slate book
    error_sd = np.array([SLATE_BOOK_ERROR_SD, *BOOK_ERROR_SD])
    n_books = len(books)
    families, dispersions, lines = _quote_distributions(quotes)
    consensus = _consensus_means(quotes, families, dispersions, lines)

    rng = np.random.default_rng([seed, int(start.timestamp()), n_props])
    # Books' private log errors; the slate's book starts exactly at its posted quote.
    error = rng.standard_normal((n_props, n_books)) * error_sd
    error[:, 0] = 0.0
    integer_line = rng.random((n_props, n_books)) < INTEGER_LINE_SHARE
    integer_line[:, 0] = lines == np.floor(lines)
    # The consensus each book has taken in (log); news moves ``market`` first.
    market = np.log(consensus)
    seen = np.repeat(market[:, None], n_books, axis=1)

    n_steps = int(minutes * 60 // step_seconds) + 1
    chances = _StepChances.every(step_seconds)
    last: dict[tuple[int, int], tuple[float, float, float]] = {}
    ticks: list[FeedTick] = []
    for step in range(n_steps):
        if step:
            market, seen, error = _advance(rng, market, seen, error, error_sd=error_sd, chances=chances)
        ticks += _step_ticks(
            quotes,
            books,
            step=step,
            ts=start + dt.timedelta(seconds=step * step_seconds),
            book_mean=np.exp(seen + error),
            families=families,
            dispersions=dispersions,
            integer_line=integer_line,
            last=last,
        )
    return ticks


def feed_csv(ticks: list[FeedTick], *, header: list[str]) -> str:
    """The feed as CSV in live's odds feed format, ``header`` lines first as '#' comments."""
    out = io.StringIO()
    for line in header:
        out.write(f"# {line}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FEED_COLUMNS)
    for tick in ticks:
        writer.writerow(
            [
                tick.ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                tick.sport,
                tick.game,
                tick.player,
                tick.player_id,
                tick.stat,
                tick.book,
                f"{tick.line:g}",
                f"{tick.over_odds:.2f}",
                f"{tick.under_odds:.2f}",
                "true" if tick.simulated else "false",
            ]
        )
    return out.getvalue()
