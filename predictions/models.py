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

from django.conf import settings
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
        # game_date: the props lists' default order (newest games first) across sports.
        indexes = [
            models.Index(fields=["sport", "date"], name="game_sport_date"),
            models.Index(fields=["date"], name="game_date"),
        ]

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


# --- Serving, predictions and their live grading -------------------------------------------------


class PropFeatures(models.Model):
    """The feature row of one (game, player, stat) under one feature schema.

    Features depend only on what happened before the game, never on the line or the price,
    so one row serves every line and book of the prop; ``predict_slate`` fills the table in
    one vectorised pass and serving reads it (building a missing row from recent history).
    ``values`` are the row's float64 bytes in schema order; ``feature_hash`` is the sha256 of
    the row as float32 bytes (the prediction cache's key, with the model version and line).
    """

    # The unique (game, player, stat, schema_version) index serves lookups by game.
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="+", db_index=False)
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="+", db_index=False)
    stat = models.CharField(max_length=40)
    schema_version = models.CharField(max_length=16)
    values = models.BinaryField()
    feature_hash = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["game", "player", "stat", "schema_version"], name="prop_features_unique_row"
            )
        ]

    def __str__(self):
        return f"features {self.player_id} {self.stat} in {self.game_id}"


class EnsembleWeights(models.Model):
    """One step of an ensemble version's live member weights (the latest row is served).

    The rule (engine.models.update_weights): target = softmax(-sharpness x each member's
    exponentially weighted live log loss), approached by ``step`` and floored at a minimum
    weight; see predictions.grading."""

    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.CASCADE, related_name="+")
    weights = models.JSONField(help_text='Member kind → weight, e.g. {"xgboost": 0.4, "torch": 0.6}.')
    member_log_loss = models.JSONField(default=dict, blank=True, help_text="Members' EWM live log loss used.")
    n_graded = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=40, default="live")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_version", "-created_at", "-id"]
        indexes = [models.Index(fields=["model_version", "-created_at"], name="ensemble_weights_latest")]

    def __str__(self):
        return f"weights of {self.model_version_id}: {self.weights}"


class Prediction(models.Model):
    """A model's distribution for one prop at one line: the contract of docs/architecture.md.

    ``prop_line`` is set for book props scored by ``predict_slate`` (those are graded into the
    live metrics, one per prop and version); API predictions of arbitrary lines keep it null.
    ``member_probabilities`` holds each ensemble member's (P(over), P(under)) so every member
    is graded on the same props. ``shadow`` predictions come from a challenger and are never
    shown to users. Edge (decimal odds given): P(side | no push) x decimal odds - 1 for the
    better side, i.e. the expected return per unit staked with a push refunded.
    """

    class Side(models.TextChoices):
        OVER = "over", "Over"
        UNDER = "under", "Under"

    class Outcome(models.TextChoices):
        OVER = "over", "Over"
        UNDER = "under", "Under"
        PUSH = "push", "Push"
        VOID = "void", "Void"

    class Source(models.TextChoices):
        API = "api", "API"
        SLATE = "slate", "Slate"

    # Indexes: the unique (prop_line, model_version) serves lookups by prop line, the
    # (game, player, stat) one lookups by game, the (model_version, graded_at) one lookups by
    # version; a separate index per foreign key would only slow slate writes down.
    prop_line = models.ForeignKey(
        PropLine, null=True, blank=True, on_delete=models.CASCADE, related_name="predictions", db_index=False
    )
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="+", db_index=False)
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="+", db_index=False)
    stat = models.CharField(max_length=40)
    line = models.FloatField()
    over_decimal_odds = models.FloatField(null=True, blank=True)
    under_decimal_odds = models.FloatField(null=True, blank=True)
    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    weights = models.ForeignKey(
        EnsembleWeights, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    shadow = models.BooleanField(default=False)
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.API)
    mean = models.FloatField()
    p_over = models.FloatField()
    p_under = models.FloatField()
    p_push = models.FloatField()
    edge = models.FloatField(null=True, blank=True)
    side = models.CharField(max_length=5, choices=Side.choices, blank=True)
    member_probabilities = models.JSONField(default=dict, blank=True)
    feature_hash = models.CharField(max_length=32)
    simulated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=5, choices=Outcome.choices, blank=True)
    log_loss = models.FloatField(null=True, blank=True)
    brier = models.FloatField(null=True, blank=True)
    hit = models.BooleanField(null=True, blank=True)
    clv = models.FloatField(null=True, blank=True)
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # NULL prop lines (API predictions) are distinct, so only book props are unique.
            models.UniqueConstraint(fields=["prop_line", "model_version"], name="prediction_unique_prop_version"),
            models.CheckConstraint(
                condition=Q(p_over__gte=0)
                & Q(p_over__lte=1)
                & Q(p_under__gte=0)
                & Q(p_under__lte=1)
                & Q(p_push__gte=0)
                & Q(p_push__lte=1),
                name="prediction_probabilities_in_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["game", "player", "stat"], name="prediction_prop"),
            models.Index(fields=["model_version", "graded_at"], name="prediction_version_graded"),
            # The newest prediction of a prop line (best edges' version): API requests, most
            # of the writes, price no prop line and are left out.
            models.Index(fields=["id"], condition=Q(prop_line__isnull=False), name="prediction_priced_newest"),
        ]

    def __str__(self):
        return f"{self.player_id} {self.stat} {self.line}: P(over)={self.p_over:.3f} by {self.model_version_id}"


class ModelLiveMetrics(models.Model):
    """Running live metrics of one model version on graded book props (engine.grading).

    ``member`` is blank for the version itself and a member kind (xgboost, torch) for one
    member of an ensemble version, graded on the same props from its stored probabilities."""

    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.CASCADE, related_name="+")
    member = models.CharField(max_length=10, blank=True)
    state = models.JSONField(default=dict, help_text="engine.grading.LiveMetrics.as_dict()")
    n_graded = models.PositiveIntegerField(default=0)
    log_loss = models.FloatField(null=True, blank=True)
    brier = models.FloatField(null=True, blank=True)
    hit_rate = models.FloatField(null=True, blank=True)
    clv = models.FloatField(null=True, blank=True)
    ewm_log_loss = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_version", "member"]
        constraints = [models.UniqueConstraint(fields=["model_version", "member"], name="live_metrics_unique")]

    def __str__(self):
        return f"live metrics of {self.model_version_id}{'/' + self.member if self.member else ''}"


class LiveMetricsSnapshot(models.Model):
    """The live metrics after one grading run: the Models page's performance over time."""

    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.CASCADE, related_name="+")
    member = models.CharField(max_length=10, blank=True)
    taken_at = models.DateTimeField(auto_now_add=True)
    n_graded = models.PositiveIntegerField()
    log_loss = models.FloatField(null=True, blank=True)
    brier = models.FloatField(null=True, blank=True)
    hit_rate = models.FloatField(null=True, blank=True)
    ewm_log_loss = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["model_version", "member", "taken_at", "id"]
        indexes = [models.Index(fields=["model_version", "taken_at"], name="live_snapshot_version_time")]

    def __str__(self):
        return f"snapshot of {self.model_version_id}{'/' + self.member if self.member else ''} at {self.taken_at}"


class DriftWarning(models.Model):
    """Live log loss above the validation value by more than the margin (open until cleared)."""

    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.CASCADE, related_name="+")
    live_log_loss = models.FloatField()
    validation_log_loss = models.FloatField()
    margin = models.FloatField()
    n_graded = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version"], condition=Q(cleared_at__isnull=True), name="drift_warning_one_open"
            )
        ]

    def __str__(self):
        return f"drift of {self.model_version_id}: {self.live_log_loss:.4f} vs {self.validation_log_loss:.4f}"


class ShadowModel(models.Model):
    """A candidate version scoring the same props as production, graded but never shown."""

    model_version = models.OneToOneField("registry.ModelVersion", on_delete=models.CASCADE, related_name="+")
    active = models.BooleanField(default=True)
    started_at = models.DateTimeField(auto_now_add=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return f"shadow {self.model_version_id} ({'active' if self.active else 'stopped'})"


class PropsListGeneration(models.Model):
    """One row (``id`` 1) whose ``n`` goes up, in the writing transaction, with every write to
    a table the props list shows: prop lines, games, sports, teams, players, results, model
    versions, and predictions of a prop line. Database triggers raise it (migrations 0005, 0006;
    a write finding the row gone makes it again at a random number), so
    no write path can be missed: the ORM, ``.update()``, bulk upserts, raw SQL, the admin or
    psql. Whole pages of the props list are kept under it (``selectors.props_list_generation``)."""

    n = models.BigIntegerField(default=0)

    def __str__(self):
        return f"props list generation {self.n}"
