"""The database owns the invariants, whatever path a row takes."""

import pytest
from django.db import IntegrityError, transaction

from tests.predictions.factories import GameFactory, PropLineFactory, ResultFactory, StatLineFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "make",
    [
        lambda: PropLineFactory(over_decimal_odds=1.0),
        lambda: PropLineFactory(under_decimal_odds=0.95),
        lambda: StatLineFactory(minutes=-0.5),
        lambda: ResultFactory(status="settled", value=None),
        lambda: ResultFactory(status="void", value=3),
    ],
    ids=["over_odds_1", "under_odds_below_1", "negative_minutes", "settled_without_value", "void_with_value"],
)
def test_the_database_refuses_broken_rows(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_natural_keys_are_unique_and_a_team_cannot_play_itself():
    line = StatLineFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StatLineFactory(game=line.game, player=line.player)
    team = TeamFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        GameFactory(sport=team.sport, home_team=team, away_team=team)
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamFactory(sport=team.sport, external_id=team.external_id)
