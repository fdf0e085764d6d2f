"""Building a portfolio: its limits checked and its opportunities priced, from a slate of
priced props with our predictions or from an explicit list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from predictions import selectors as prediction_selectors

from .. import engine
from ..models import Opportunity, Portfolio

LIMIT_FIELDS = (
    "max_exposure",
    "max_per_bet",
    "max_per_game",
    "max_bets",
    "min_stake",
    "increment",
    "kelly_fraction",
    "risk_alpha",
    "risk_beta",
)
CENT = Decimal("0.01")


def _limits(*, bankroll: float, limits: dict) -> engine.Limits:
    unknown = set(limits) - set(LIMIT_FIELDS)
    if unknown:
        raise ApplicationError("Unknown limits.", fields={f"limits.{k}": ["unknown limit"] for k in sorted(unknown)})
    try:
        return engine.Limits(bankroll=float(bankroll), **limits)
    except (ValueError, TypeError) as exc:
        field, _, message = str(exc).partition(": ")
        name = field if field == "bankroll" else f"limits.{field}"
        raise ApplicationError(f"Invalid {name}: {message}", fields={name: [message]}) from exc


def _opportunities_from_list(items: list[dict], *, method: str) -> list[dict]:
    out = []
    for index, item in enumerate(items):
        odds = float(item["decimal_odds"])
        other = item.get("other_decimal_odds")
        book = float(engine.devig([odds, float(other)], method=method)[0]) if other else None
        out.append(
            {
                "description": item["description"],
                "decimal_odds": odds,
                "probability": float(item["probability"]),
                "p_push": float(item.get("p_push") or 0.0),
                "book_probability": book,
                "event": item.get("event") or f"item{index}",
                "side": item.get("side") or "over",
                "game": item.get("game") or "",
                "book_max": item.get("book_max"),
                "prop_line_id": None,
            }
        )
    return out


def slate_opportunities(props_filter: dict, *, method: str) -> list[dict]:
    """Both sides of each priced prop with our prediction (filter: sport, date, stat, min_edge,
    limit) as opportunity rows, the book's side priced by ``method``."""
    date = dt.date.fromisoformat(props_filter["date"]) if props_filter.get("date") else None
    props = prediction_selectors.priced_props_with_predictions(
        sport=props_filter.get("sport"),
        date=date,
        stat=props_filter.get("stat"),
        limit=int(props_filter.get("limit") or 500),
    )
    min_edge = float(props_filter.get("min_edge") or 0.0)
    out = []
    for prop in props:
        book_over, book_under = engine.devig([prop["over_decimal_odds"], prop["under_decimal_odds"]], method=method)
        event = f"{prop['game_id']}:{prop['player_id']}:{prop['stat']}"
        for side, odds, probability, book in (
            ("over", prop["over_decimal_odds"], prop["p_over"], book_over),
            ("under", prop["under_decimal_odds"], prop["p_under"], book_under),
        ):
            if not (0.0 < probability < 1.0) or probability * odds - 1.0 < min_edge:
                continue
            out.append(
                {
                    "description": f"{prop['player']} {prop['stat']} {side} {prop['line']:g} ({prop['book']})",
                    "decimal_odds": odds,
                    "probability": probability,
                    "p_push": prop["p_push"] or 0.0,
                    "book_probability": float(book),
                    "event": event,
                    "side": side,
                    "game": str(prop["game_id"]),
                    "book_max": None,
                    "prop_line_id": prop["prop_line_id"],
                    "market": market_key(
                        sport=prop["sport"],
                        game=prop["game_external_id"],
                        player=prop["player_external_id"],
                        stat=prop["stat"],
                        book=prop["book"],
                    ),
                    "line": prop["line"],
                    "player_id": prop["player_id"],
                    "stat": prop["stat"],
                    "date": props_filter.get("date"),
                }
            )
    return out


def market_key(*, sport: str, game: str, player: str, stat: str, book: str) -> str:
    """How an odds tick finds the opportunities it reprices (external ids, as ticks carry them;
    the odds feed stores book names in lower case)."""
    return f"{sport}:{game}:{player}:{stat}:{book.lower()}"


def portfolio_create(
    *,
    owner,
    name: str,
    bankroll: float,
    limits: dict,
    devig_method: str = "multiplicative",
    opportunities: list[dict] | None = None,
    props_filter: dict | None = None,
    auto_rebalance: bool = False,
) -> Portfolio:
    _limits(bankroll=bankroll, limits=limits)
    if devig_method not in engine.METHODS:
        raise ApplicationError("Unknown de-vig method.", fields={"devig_method": [f"choose one of {engine.METHODS}"]})
    if opportunities:
        rows = _opportunities_from_list(opportunities, method=devig_method)
    elif props_filter:
        rows = slate_opportunities(props_filter, method=devig_method)
    else:
        raise ApplicationError("Give opportunities or a props filter.", fields={"opportunities": ["required"]})
    for index, row in enumerate(rows):
        try:
            engine.Opportunity(
                key=str(index),
                decimal_odds=row["decimal_odds"],
                probability=row["probability"],
                p_push=row["p_push"],
                side=row["side"],
                book_max=float(row["book_max"]) if row["book_max"] is not None else None,
            )
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise ApplicationError(
                f"Invalid opportunity {index}: {message}", fields={f"opportunities.{index}.{field}": [message]}
            ) from exc
    with transaction.atomic():
        portfolio = Portfolio.objects.create(
            owner=owner,
            name=name,
            bankroll=Decimal(str(bankroll)).quantize(CENT),
            limits={k: v for k, v in limits.items() if v is not None},
            devig_method=devig_method,
            props_filter=props_filter or {},
            auto_rebalance=auto_rebalance,
        )
        Opportunity.objects.bulk_create(
            [
                Opportunity(
                    portfolio=portfolio,
                    position=index,
                    description=row["description"][:200],
                    decimal_odds=row["decimal_odds"],
                    probability=row["probability"],
                    p_push=row["p_push"],
                    book_probability=row["book_probability"],
                    edge=engine.edge(probability=row["probability"], decimal_odds=row["decimal_odds"]),
                    kelly_fraction=engine.kelly_fraction(
                        probability=row["probability"], decimal_odds=row["decimal_odds"], p_push=row["p_push"]
                    ),
                    event=row["event"][:120],
                    side=row["side"],
                    game=row["game"][:120],
                    book_max=row["book_max"],
                    prop_line_id=row["prop_line_id"],
                    market=row.get("market", ""),
                    line=row.get("line"),
                )
                for index, row in enumerate(rows)
            ]
        )
        audit_record(
            actor=owner,
            action="portfolio.create",
            obj=portfolio,
            after={"bankroll": str(portfolio.bankroll), "limits": portfolio.limits, "opportunities": len(rows)},
        )
    return portfolio
