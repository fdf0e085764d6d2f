"""Sports data: sports, teams, players, games (or seasons), stat lines, prop lines, results.

Natural keys: every imported row is identified by its sport and the ``external_id`` the data
source gives it (unique per sport), so importing the same file twice finds the same rows.
Stat lines are keyed by (player, game), prop lines by (game, player, stat, book, seen_at) and
results by (game, player, stat).

Stat lines are one row per player-game with the stat values in a JSON object
(``{"points": 23, "rebounds": 7}``) rather than a long table of (player, game, stat, value):
the sports have different stats, a player-game is what the importers and the feature builder
both handle as a unit, and one row per player-game writes 4-5x fewer rows (and index
entries) than the long form, which is what makes a million stat lines import in seconds.
Feature building reads whole sports at once, so it never needs to query a single stat.

Everything simulated carries ``simulated=True`` so pages and the API can label it.
"""

from django.db import models
from django.db.models import F, Q


class Sport(models.Model):
    class Horizon(models.TextChoices):
        GAME = "game", "Game"
        SEASON = "season", "Season"

    code = models.CharField(max_length=10, unique=True, help_text="e.g. nba")
    label = models.CharField(max_length=40)
    simulated = models.BooleanField(default=False, help_text="The demo data of this sport is simulated.")
    horizon = models.CharField(
        max_length=6, choices=Horizon.choices, default=Horizon.GAME, help_text="What a prop settles on."
    )

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.label


class Team(models.Model):
    sport = models.ForeignKey(Sport, on_delete=models.PROTECT, related_name="teams")
    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    abbreviation = models.CharField(max_length=10, blank=True)
    simulated = models.BooleanField(default=False)

    class Meta:
        ordering = ["sport", "name"]
        constraints = [models.UniqueConstraint(fields=["sport", "external_id"], name="team_unique_external_id")]

    def __str__(self):
        return self.name


class Player(models.Model):
    sport = models.ForeignKey(Sport, on_delete=models.PROTECT, related_name="players")
    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100, db_index=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="players", help_text="Current team."
    )
    role = models.CharField(max_length=20, blank=True, help_text="e.g. starter, QB, F, batter.")
    birth_date = models.DateField(null=True, blank=True, help_text="MLB features use the age on June 30.")
    simulated = models.BooleanField(default=False)

    class Meta:
        ordering = ["sport", "name"]
        constraints = [models.UniqueConstraint(fields=["sport", "external_id"], name="player_unique_external_id")]

    def __str__(self):
        return self.name


class Game(models.Model):
    """One game, or a whole season for sports whose props settle on season totals (MLB here)."""

    class Kind(models.TextChoices):
        GAME = "game", "Game"
        SEASON = "season", "Season"

    sport = models.ForeignKey(Sport, on_delete=models.PROTECT, related_name="games")
    external_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.GAME)
    season = models.PositiveSmallIntegerField()
    date = models.DateField(help_text="Game day; for a season, the day its season-long props are priced.")
    home_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    away_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pace = models.FloatField(null=True, blank=True, help_text="Possessions/plays/shot attempts, after the game.")
    simulated = models.BooleanField(default=False)

    class Meta:
        ordering = ["-date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["sport", "external_id"], name="game_unique_external_id"),
            models.CheckConstraint(
                condition=Q(kind="season") | (Q(home_team__isnull=False) & Q(away_team__isnull=False)),
                name="game_has_both_teams",
            ),
            models.CheckConstraint(condition=~Q(home_team=F("away_team")), name="game_teams_differ"),
            models.CheckConstraint(condition=Q(pace__isnull=True) | Q(pace__gt=0), name="game_pace_positive"),
        ]
        indexes = [models.Index(fields=["sport", "date"], name="game_sport_date")]

    def __str__(self):
        if self.kind == self.Kind.SEASON:
            return f"{self.season} season"
        return f"{self.date:%Y-%m-%d} {self.external_id}"


class StatLine(models.Model):
    """What one player did in one game (or season): playing time and a JSON of stat values."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="stat_lines")
    # The unique (player, game) index serves lookups by player; a second index would only
    # slow the bulk import down.
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="stat_lines", db_index=False)
    # No indexes on team/opponent: nothing looks stat lines up by team, and every index costs
    # time on a million-row import.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    opponent = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    is_home = models.BooleanField(null=True, blank=True)
    role = models.CharField(max_length=20, blank=True)
    minutes = models.FloatField(
        null=True, blank=True, help_text="Playing time: minutes (NBA, NHL time on ice), snaps scaled to 60 (NFL)."
    )
    # MLB season lines carry their volume as stats too: plate_appearances, batters_faced.
    stats = models.JSONField(default=dict, help_text='Stat code → value, e.g. {"points": 23}.')
    simulated = models.BooleanField(default=False)

    class Meta:
        ordering = ["game", "player"]
        constraints = [
            models.UniqueConstraint(fields=["player", "game"], name="stat_line_unique_player_game"),
            models.CheckConstraint(
                condition=Q(minutes__isnull=True) | Q(minutes__gte=0), name="stat_line_minutes_gte_0"
            ),
        ]

    def __str__(self):
        return f"{self.player_id} in {self.game_id}"


class PropLine(models.Model):
    """A book's over/under line on a player's stat, with decimal odds, as seen at ``seen_at``.

    For simulated data ``oracle_*`` hold the exact distribution the stat was drawn from (the
    engine's family for the stat, with this mean and dispersion) and the oracle's P(over),
    P(under), P(push) at the line: the best any model could do, to measure models against.
    """

    # The unique (game, player, stat, book, seen_at) index serves lookups by game.
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="prop_lines", db_index=False)
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="prop_lines")
    stat = models.CharField(max_length=40, db_index=True)
    book = models.CharField(max_length=60)
    line = models.FloatField()
    over_decimal_odds = models.FloatField()
    under_decimal_odds = models.FloatField()
    seen_at = models.DateTimeField(help_text="When the book showed this price.")
    simulated = models.BooleanField(default=False)
    oracle_mean = models.FloatField(null=True, blank=True)
    oracle_dispersion = models.FloatField(null=True, blank=True)
    oracle_p_over = models.FloatField(null=True, blank=True)
    oracle_p_under = models.FloatField(null=True, blank=True)
    oracle_p_push = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["game", "player", "stat", "book", "seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["game", "player", "stat", "book", "seen_at"], name="prop_line_unique_quote"
            ),
            models.CheckConstraint(condition=Q(over_decimal_odds__gt=1), name="prop_line_over_odds_gt_1"),
            models.CheckConstraint(condition=Q(under_decimal_odds__gt=1), name="prop_line_under_odds_gt_1"),
            models.CheckConstraint(
                condition=Q(oracle_dispersion__isnull=True) | Q(oracle_dispersion__gte=0),
                name="prop_line_oracle_dispersion_gte_0",
            ),
            models.CheckConstraint(
                condition=(
                    Q(oracle_p_over__isnull=True)
                    | (
                        Q(oracle_p_over__gte=0)
                        & Q(oracle_p_over__lte=1)
                        & Q(oracle_p_under__gte=0)
                        & Q(oracle_p_under__lte=1)
                        & Q(oracle_p_push__gte=0)
                        & Q(oracle_p_push__lte=1)
                    )
                ),
                name="prop_line_oracle_probabilities_in_0_1",
            ),
        ]

    def __str__(self):
        return f"{self.player_id} {self.stat} {self.line} @ {self.book}"


class Result(models.Model):
    """The official value a player's stat settled at in a game (or season); void if he did not play."""

    class Status(models.TextChoices):
        SETTLED = "settled", "Settled"
        VOID = "void", "Void"

    # The unique (game, player, stat) index serves lookups by game.
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="results", db_index=False)
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="results")
    stat = models.CharField(max_length=40)
    value = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.SETTLED)

    class Meta:
        ordering = ["game", "player", "stat"]
        constraints = [
            models.UniqueConstraint(fields=["game", "player", "stat"], name="result_unique_player_game_stat"),
            models.CheckConstraint(
                condition=Q(status="void", value__isnull=True) | Q(status="settled", value__isnull=False),
                name="result_value_iff_settled",
            ),
        ]

    def __str__(self):
        return f"{self.player_id} {self.stat} = {self.value} ({self.status})"
