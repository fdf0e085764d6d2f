from django.conf import settings
from django.db import models


class OddsTick(models.Model):
    """One line/price observation from a feed: the raw log. The predictions app owns prop
    lines and edges; it hears about each ingest call's ticks through
    ``live.signals.odds_ticks_received``. ``simulated`` is the feed's own label (the sample
    feeds say true; API clients default to false)."""

    class Source(models.TextChoices):
        API = "api", "API"
        REPLAY = "replay", "Replay"

    sport = models.CharField(max_length=8)
    game_external_id = models.CharField(max_length=64)
    player_name = models.CharField(max_length=80)
    player_external_id = models.CharField(max_length=64, blank=True)
    stat = models.CharField(max_length=40)
    book = models.CharField(max_length=40)
    line = models.DecimalField(max_digits=8, decimal_places=2)
    over_odds = models.DecimalField(max_digits=8, decimal_places=3, help_text="Decimal odds for the over.")
    under_odds = models.DecimalField(max_digits=8, decimal_places=3, help_text="Decimal odds for the under.")
    ts = models.DateTimeField(help_text="When the book showed this price.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    simulated = models.BooleanField(default=False, help_text="The feed labelled this tick simulated.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [
            models.Index(fields=["sport", "game_external_id", "player_name", "stat", "book", "ts"], name="odds_line"),
            models.Index(fields=["-ts"], name="odds_recent"),
        ]

    def __str__(self):
        return f"{self.sport} {self.game_external_id} {self.player_name} {self.stat} {self.book} {self.line}"


class GameEvent(models.Model):
    """One event of a game from a feed (start, score, period, final); ``simulated`` is the
    feed's own label, as for odds ticks."""

    class Kind(models.TextChoices):
        START = "start", "Start"
        SCORE = "score", "Score change"
        PERIOD = "period", "Period"
        FINAL = "final", "Final"

    sport = models.CharField(max_length=8)
    game_external_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    home_team = models.CharField(max_length=80, blank=True)
    away_team = models.CharField(max_length=80, blank=True)
    home_score = models.PositiveIntegerField(null=True, blank=True)
    away_score = models.PositiveIntegerField(null=True, blank=True)
    period = models.CharField(max_length=20, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    ts = models.DateTimeField()
    simulated = models.BooleanField(default=False, help_text="The feed labelled this event simulated.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [models.Index(fields=["sport", "game_external_id", "ts"], name="game_event_game")]

    def __str__(self):
        return f"{self.sport} {self.game_external_id} {self.kind}"


class AlertPreference(models.Model):
    """When a user wants to be told: edges at or above ``min_edge``, and steam moves."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference")
    min_edge = models.DecimalField(max_digits=5, decimal_places=4, default=0.05)
    steam = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_edge__gte=0) & models.Q(min_edge__lte=1), name="alert_min_edge_0_1"
            )
        ]

    def __str__(self):
        return f"alerts for {self.user_id}: edge ≥ {self.min_edge}, steam {'on' if self.steam else 'off'}"
