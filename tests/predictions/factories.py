"""factory_boy factories for the predictions app's tables."""

import datetime as dt

import factory
from django.utils import timezone

from predictions.models import Game, Player, PropLine, Result, Sport, StatLine, Team


class SportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sport
        django_get_or_create = ("code",)

    code = "nba"
    label = factory.LazyAttribute(lambda sport: sport.code.upper())
    simulated = True
    horizon = Sport.Horizon.GAME


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    sport = factory.SubFactory(SportFactory)
    external_id = factory.Sequence(lambda n: f"T{n:03d}")
    name = factory.Sequence(lambda n: f"Team {n:03d}")
    abbreviation = factory.LazyAttribute(lambda team: team.external_id)


class PlayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Player

    sport = factory.SubFactory(SportFactory)
    external_id = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"Player {n:04d}")
    team = factory.SubFactory(TeamFactory, sport=factory.SelfAttribute("..sport"))
    role = "starter"


class GameFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Game

    sport = factory.SubFactory(SportFactory)
    external_id = factory.Sequence(lambda n: f"G{n:05d}")
    season = 2024
    date = factory.Sequence(lambda n: dt.date(2024, 10, 22) + dt.timedelta(days=n))
    home_team = factory.SubFactory(TeamFactory, sport=factory.SelfAttribute("..sport"))
    away_team = factory.SubFactory(TeamFactory, sport=factory.SelfAttribute("..sport"))


class StatLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatLine

    game = factory.SubFactory(GameFactory)
    player = factory.SubFactory(PlayerFactory, sport=factory.SelfAttribute("..game.sport"), team=None)
    team = factory.SelfAttribute("game.home_team")
    opponent = factory.SelfAttribute("game.away_team")
    is_home = True
    minutes = 30.0
    stats = factory.LazyFunction(lambda: {"points": 20, "rebounds": 5})


class PropLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PropLine

    game = factory.SubFactory(GameFactory)
    player = factory.SubFactory(PlayerFactory, sport=factory.SelfAttribute("..game.sport"), team=None)
    stat = "points"
    book = "Test Book"
    line = 19.5
    over_decimal_odds = 1.91
    under_decimal_odds = 1.91
    seen_at = factory.LazyFunction(timezone.now)


class ResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Result

    game = factory.SubFactory(GameFactory)
    player = factory.SubFactory(PlayerFactory, sport=factory.SelfAttribute("..game.sport"), team=None)
    stat = "points"
    value = 21.0
    status = Result.Status.SETTLED
