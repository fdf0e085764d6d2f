"""Read-only shapes of the sports data. Every item says whether it is simulated."""

import math

from rest_framework import serializers

from ..models import Game, Player, PropLine, Result, Sport, StatLine, Team
from ..services import PropRequest


class SportSerializer(serializers.ModelSerializer):
    # Plain strings, not enums: "game"/"season" is one choice set under two names here, which
    # would give the schema two enums for it.
    horizon = serializers.CharField(help_text="What a prop settles on: game or season.")

    class Meta:
        model = Sport
        fields = ["code", "label", "simulated", "horizon"]


class TeamRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "external_id", "name", "abbreviation"]


class TeamSerializer(serializers.ModelSerializer):
    sport = serializers.CharField(source="sport.code")

    class Meta:
        model = Team
        fields = ["id", "sport", "external_id", "name", "abbreviation", "simulated"]


class PlayerSerializer(serializers.ModelSerializer):
    sport = serializers.CharField(source="sport.code")
    team = TeamRefSerializer(allow_null=True)

    class Meta:
        model = Player
        fields = ["id", "sport", "external_id", "name", "team", "role", "simulated"]


class PlayerRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Player
        fields = ["id", "external_id", "name", "role"]


class GameSerializer(serializers.ModelSerializer):
    sport = serializers.CharField(source="sport.code")
    kind = serializers.CharField(help_text="game, or season for season-long props.")
    home_team = TeamRefSerializer(allow_null=True)
    away_team = TeamRefSerializer(allow_null=True)

    class Meta:
        model = Game
        fields = ["id", "sport", "external_id", "kind", "season", "date", "home_team", "away_team", "pace", "simulated"]


class GameRefSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(help_text="game, or season for season-long props.")
    home_team = TeamRefSerializer(allow_null=True)
    away_team = TeamRefSerializer(allow_null=True)

    class Meta:
        model = Game
        fields = ["id", "external_id", "kind", "season", "date", "home_team", "away_team"]


class StatLineSerializer(serializers.ModelSerializer):
    sport = serializers.CharField(source="game.sport.code")
    game = serializers.CharField(source="game.external_id")
    date = serializers.DateField(source="game.date")
    player = PlayerRefSerializer()
    team = serializers.CharField(source="team.external_id", allow_null=True, default=None)
    opponent = serializers.CharField(source="opponent.external_id", allow_null=True, default=None)

    class Meta:
        model = StatLine
        fields = [
            "id",
            "sport",
            "game",
            "date",
            "player",
            "team",
            "opponent",
            "is_home",
            "role",
            "minutes",
            "stats",
            "simulated",
        ]


class OracleSerializer(serializers.Serializer):
    mean = serializers.FloatField(source="oracle_mean")
    dispersion = serializers.FloatField(source="oracle_dispersion")
    p_over = serializers.FloatField(source="oracle_p_over")
    p_under = serializers.FloatField(source="oracle_p_under")
    p_push = serializers.FloatField(source="oracle_p_push")


class PropResultSerializer(serializers.Serializer):
    value = serializers.FloatField(source="result_value", allow_null=True)
    status = serializers.CharField(source="result_status")


class PropLineSerializer(serializers.ModelSerializer):
    sport = serializers.CharField(source="game.sport.code")
    game = GameRefSerializer()
    player = PlayerRefSerializer()
    oracle = serializers.SerializerMethodField(help_text="Simulated props: the true distribution at the line.")
    result = serializers.SerializerMethodField(help_text="The settled value, once known.")

    class Meta:
        model = PropLine
        fields = [
            "id",
            "sport",
            "game",
            "player",
            "stat",
            "book",
            "line",
            "over_decimal_odds",
            "under_decimal_odds",
            "seen_at",
            "simulated",
            "oracle",
            "result",
        ]

    def get_oracle(self, prop) -> dict | None:
        return OracleSerializer(prop).data if prop.oracle_mean is not None else None

    def get_result(self, prop) -> dict | None:
        status = getattr(prop, "result_status", None)
        return PropResultSerializer(prop).data if status else None


class ResultSerializer(serializers.ModelSerializer):
    sport = serializers.CharField(source="game.sport.code")
    game = serializers.CharField(source="game.external_id")
    player = PlayerRefSerializer()

    class Meta:
        model = Result
        fields = ["id", "sport", "game", "player", "stat", "value", "status"]


class ImportReportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    source = serializers.CharField()
    skip_bad = serializers.BooleanField()
    rows = serializers.IntegerField()
    imported = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    error_count = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())


# --- Predictions -------------------------------------------------------------------------------

_PROP_FIELDS = ("sport", "stat", "line", "player", "game", "season", "over_decimal_odds", "under_decimal_odds")
MAX_LINE = 100_000.0
MAX_DECIMAL_ODDS = 1_000.0


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _reference(value) -> int | str | None:
    """A primary key (a positive integer) or an external id (a non-empty string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and 0 < len(value.strip()) <= 64:
        return value.strip()
    return None


def parse_prop(item) -> tuple[PropRequest | None, dict[str, list[str]]]:
    """Validate one prop of a request: (PropRequest, {}) or (None, {field: [messages]}).

    Plain Python rather than a DRF serializer: a batch holds up to 10,000 of them and a
    serializer per item costs more than pricing it. ``PropRequestSerializer`` documents the
    same shape for the API schema."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["each prop is a JSON object"]}
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(item) - set(_PROP_FIELDS))
    if unknown:
        errors["non_field_errors"] = [f"unknown field(s): {', '.join(unknown)}"]
    sport, stat = item.get("sport"), item.get("stat")
    if not isinstance(sport, str) or not sport:
        errors["sport"] = ["required: a sport code (mlb, nba, nfl, nhl)"]
    if not isinstance(stat, str) or not stat:
        errors["stat"] = ["required: a stat code, e.g. points"]
    line = _number(item.get("line"))
    if line is None or abs(line) > MAX_LINE:
        errors["line"] = ["required: a finite number"]
    player = _reference(item.get("player"))
    if player is None:
        errors["player"] = ["required: a player id (integer) or external id (string)"]
    game_given, season_given = item.get("game") is not None, item.get("season") is not None
    game = _reference(item.get("game")) if game_given else None
    season = item.get("season") if season_given else None
    if game_given == season_given:
        errors["game"] = ["give a game (id or external id) or, for season props (MLB), a season"]
    elif game_given and game is None:
        errors["game"] = ["a game id (integer) or external id (string)"]
    elif season_given and (isinstance(season, bool) or not isinstance(season, int) or not 1800 < season < 3000):
        errors["season"] = ["a season year, e.g. 2024"]
    odds = {}
    for name in ("over_decimal_odds", "under_decimal_odds"):
        if item.get(name) is None:
            odds[name] = None
            continue
        value = _number(item.get(name))
        if value is None or not 1.0 < value <= MAX_DECIMAL_ODDS:
            errors[name] = [f"decimal odds above 1 (at most {MAX_DECIMAL_ODDS:g})"]
        odds[name] = value
    if errors:
        return None, errors
    return (
        PropRequest(
            sport=sport.lower(),
            stat=stat,
            line=line,
            player=player,
            game=game,
            season=season,
            over_decimal_odds=odds["over_decimal_odds"],
            under_decimal_odds=odds["under_decimal_odds"],
        ),
        {},
    )


class PropRequestSerializer(serializers.Serializer):
    """One prop to price (documentation of what ``parse_prop`` accepts)."""

    sport = serializers.CharField(help_text="mlb, nba, nfl or nhl.")
    stat = serializers.CharField(help_text="A stat of the sport, e.g. points.")
    line = serializers.FloatField()
    player = serializers.CharField(help_text="Player id (integer) or external id.")
    game = serializers.CharField(required=False, help_text="Game id (integer) or external id; game sports.")
    season = serializers.IntegerField(required=False, help_text="Season year; season props (MLB).")
    over_decimal_odds = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text=(
            "The book's decimal price of the over. With both prices the model's probabilities are "
            "pooled with the book's de-vigged price at this line (its line calibration); otherwise "
            "they are the model's own. The edge is computed for each side that has a price."
        ),
    )
    under_decimal_odds = serializers.FloatField(
        required=False, allow_null=True, help_text="The book's decimal price of the under (see over_decimal_odds)."
    )


class PropBatchSerializer(serializers.Serializer):
    props = PropRequestSerializer(many=True, help_text="Up to 10,000 props.")


class ModelVersionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()


class PredictionSerializer(serializers.Serializer):
    """A stored prediction (documentation of the answer's shape)."""

    id = serializers.IntegerField()
    sport = serializers.CharField()
    stat = serializers.CharField()
    line = serializers.FloatField()
    player = serializers.DictField()
    game = serializers.DictField()
    mean = serializers.FloatField()
    p_over = serializers.FloatField()
    p_under = serializers.FloatField()
    p_push = serializers.FloatField()
    over_decimal_odds = serializers.FloatField(allow_null=True)
    under_decimal_odds = serializers.FloatField(allow_null=True)
    edge = serializers.FloatField(allow_null=True, help_text="P(side | no push) x decimal odds - 1, better side.")
    side = serializers.CharField(allow_null=True)
    model_version = ModelVersionRefSerializer()
    cached = serializers.BooleanField()
    simulated = serializers.BooleanField()


class PropPredictionSerializer(serializers.Serializer):
    """The latest shown prediction of a book prop, for the props list."""

    id = serializers.IntegerField()
    mean = serializers.FloatField()
    p_over = serializers.FloatField()
    p_under = serializers.FloatField()
    p_push = serializers.FloatField()
    edge = serializers.FloatField(allow_null=True)
    side = serializers.CharField()
    model_version = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_model_version(self, prediction) -> dict:
        version = prediction.model_version
        return {"id": version.pk, "name": version.name, "version": version.version}


class PricedPropSerializer(PropLineSerializer):
    prediction = serializers.SerializerMethodField(help_text="The latest prediction of this prop (null if none).")
    edge = serializers.FloatField(source="pred_edge", allow_null=True, read_only=True)

    class Meta(PropLineSerializer.Meta):
        fields = [*PropLineSerializer.Meta.fields, "prediction", "edge"]

    def get_prediction(self, prop) -> dict | None:
        prediction = self.context.get("predictions", {}).get(getattr(prop, "pred_id", None))
        return PropPredictionSerializer(prediction).data if prediction else None
