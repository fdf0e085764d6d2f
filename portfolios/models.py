"""Portfolios: a bankroll with limits over a set of opportunities, optimization runs with
their report, and the bets placed from an accepted allocation or by hand."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Portfolio(models.Model):
    class DevigMethod(models.TextChoices):
        MULTIPLICATIVE = "multiplicative"
        ADDITIVE = "additive"
        POWER = "power"
        SHIN = "shin"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolios")
    name = models.CharField(max_length=100)
    bankroll = models.DecimalField(max_digits=14, decimal_places=2)
    limits = models.JSONField(
        default=dict,
        help_text="max_exposure, max_per_bet, max_per_game (fractions), "
        "max_bets, min_stake, increment, kelly_fraction, risk_alpha, risk_beta.",
    )
    devig_method = models.CharField(max_length=14, choices=DevigMethod.choices, default=DevigMethod.MULTIPLICATIVE)
    props_filter = models.JSONField(default=dict, blank=True, help_text="The slate it was built from, if any.")
    auto_rebalance = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(bankroll__gt=0), name="portfolio_bankroll_positive")]

    def __str__(self):
        return f"{self.name} ({self.owner_id})"


class Opportunity(models.Model):
    """One side of one market that could be bet, with our probability and the book's."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="opportunities")
    position = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    decimal_odds = models.FloatField()
    probability = models.FloatField(help_text="Our probability that the bet wins.")
    p_push = models.FloatField(default=0.0)
    book_probability = models.FloatField(null=True, blank=True, help_text="The book's, with the vig removed.")
    edge = models.FloatField()
    kelly_fraction = models.FloatField(help_text="Single-bet Kelly stake as a fraction of the bankroll.")
    event = models.CharField(max_length=120, blank=True)
    side = models.CharField(max_length=5, default="over")
    game = models.CharField(max_length=120, blank=True)
    book_max = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    prop_line_id = models.BigIntegerField(null=True, blank=True, help_text="predictions PropLine, if from a slate.")
    market = models.CharField(
        max_length=200,
        blank=True,
        db_index=True,
        help_text="sport:game:player:stat:book (external ids), for odds ticks.",
    )
    line = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["portfolio", "position"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "position"], name="opportunity_unique_position"),
            models.CheckConstraint(condition=Q(decimal_odds__gt=1), name="opportunity_odds_gt_1"),
            models.CheckConstraint(condition=Q(probability__gt=0, probability__lt=1), name="opportunity_p_in_0_1"),
        ]

    def __str__(self):
        return self.description


class OptimizationRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="runs")
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.QUEUED)
    seed = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=40, default="manual")
    details = models.JSONField(default=dict, blank=True, help_text="Why it ran, e.g. the odds that moved.")
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"run {self.pk} of portfolio {self.portfolio_id}"


class Bet(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        WON = "won"
        LOST = "lost"
        PUSH = "push"
        VOID = "void"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="bets")
    run = models.ForeignKey(OptimizationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="bets")
    opportunity = models.ForeignKey(Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="bets")
    description = models.CharField(max_length=200)
    decimal_odds = models.FloatField()
    stake = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    profit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    clv = models.FloatField(
        null=True, blank=True, help_text="Closing line value: closing de-vigged probability x odds taken - 1."
    )
    placed_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            # An allocation accepted twice places its bets once.
            models.UniqueConstraint(fields=["run", "opportunity"], name="bet_unique_run_opportunity"),
            models.CheckConstraint(condition=Q(stake__gt=0), name="bet_stake_positive"),
            models.CheckConstraint(condition=Q(decimal_odds__gt=1), name="bet_odds_gt_1"),
        ]

    def __str__(self):
        return f"{self.description} @ {self.decimal_odds} x {self.stake}"
