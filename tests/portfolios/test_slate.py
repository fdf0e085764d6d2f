"""A portfolio built from a predicted slate: opportunities from priced props with our latest
predictions (predictions.selectors.markets), correlations from the players' stat lines."""

import io

import numpy as np
import pytest
from django.core.management import call_command

from portfolios import services
from portfolios.models import Opportunity
from portfolios.services import runs
from predictions import selectors
from predictions.models import StatLine

pytestmark = pytest.mark.django_db


def test_slate_portfolio_prices_both_sides_and_correlates_teammates(served, user):
    date = served["upcoming"][0].date
    call_command(
        "predict_slate",
        "--sport",
        "nba",
        "--date",
        date.isoformat(),
        "--no-progress",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    props = selectors.priced_props_with_predictions(sport="nba", date=date)
    assert len(props) == 20
    portfolio = services.portfolio_create(
        owner=user,
        name="slate",
        bankroll=1000,
        limits={"max_exposure": 0.5, "max_per_game": 0.3},
        devig_method="power",
        props_filter={"sport": "nba", "date": date.isoformat(), "min_edge": -1},
    )
    rows = list(Opportunity.objects.filter(portfolio=portfolio))
    assert len(rows) == 40  # over and under of each prop
    assert all(r.prop_line_id for r in rows)
    over_under = {}
    for row in rows:
        over_under.setdefault(row.event, []).append(row)
    assert all(len(pair) == 2 and {r.side for r in pair} == {"over", "under"} for pair in over_under.values())
    pair = next(iter(over_under.values()))
    assert pair[0].book_probability + pair[1].book_probability == pytest.approx(1.0)

    correlation = services.portfolio_correlation(portfolio, rows)
    assert correlation.shape == (20, 20)
    assert np.linalg.eigvalsh(correlation).min() >= -1e-9
    off_diagonal = correlation[~np.eye(20, dtype=bool)]
    assert np.any(off_diagonal != 0.0)
    assert np.all(np.abs(off_diagonal) < 1.0)


def test_the_correlation_estimate_is_reused_until_a_stat_line_changes(served, user):
    date = served["upcoming"][0].date
    call_command("predict_slate", "--sport", "nba", "--date", date.isoformat(), "--no-progress", stdout=io.StringIO())
    portfolio = services.portfolio_create(
        owner=user,
        name="slate",
        bankroll=1000,
        limits={"max_exposure": 0.5},
        props_filter={"sport": "nba", "date": date.isoformat(), "min_edge": -1},
    )
    rows = list(Opportunity.objects.filter(portfolio=portfolio))
    runs._estimated_correlation.cache_clear()
    first = services.portfolio_correlation(portfolio, rows)
    again = services.portfolio_correlation(portfolio, rows)
    assert again is first and not first.flags.writeable
    assert runs._estimated_correlation.cache_info().hits == 1
    # A corrected stat line of one player in a game before the slate: a new estimate.
    _, player_id, stat = rows[0].event.split(":")
    line = StatLine.objects.filter(player_id=int(player_id), game__date__lt=date).order_by("-game__date").first()
    line.stats = {**line.stats, stat: float(line.stats[stat]) + 25.0}
    line.save(update_fields=["stats"])
    corrected = services.portfolio_correlation(portfolio, rows)
    assert runs._estimated_correlation.cache_info().misses == 2
    assert not np.array_equal(corrected, first)


def test_a_slate_portfolio_takes_each_books_current_quote_not_the_ones_it_superseded(served, user):
    """Each odds tick stores a new quote (prop line); an older one of the same book and prop is
    no longer on offer and must not become a second bet on the same market."""
    from datetime import timedelta

    from predictions import services as prediction_services
    from predictions.models import PropLine

    date = served["upcoming"][0].date
    prediction_services.slate_predict(sport="nba", date=date)
    before = selectors.priced_props_with_predictions(sport="nba", date=date)
    old = PropLine.objects.get(pk=before[0]["prop_line_id"])
    moved = PropLine.objects.get(pk=old.pk)
    moved.pk, moved.seen_at, moved.over_decimal_odds = None, old.seen_at + timedelta(minutes=5), 2.2
    moved.save()
    prediction_services.slate_predict(sport="nba", date=date)  # the new quote gets its prediction

    after = selectors.priced_props_with_predictions(sport="nba", date=date)
    ids = [prop["prop_line_id"] for prop in after]
    assert len(after) == len(before) and moved.pk in ids and old.pk not in ids
    assert next(p for p in after if p["prop_line_id"] == moved.pk)["over_decimal_odds"] == 2.2
