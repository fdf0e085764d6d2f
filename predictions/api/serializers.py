"""Read-only shapes of the sports data. Every item says whether it is simulated."""

import math
from functools import cached_property

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import empty

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

    # One child serializer per list, not one per row: building a serializer copies its fields
    # (and their validators), which cost more than the row's values (half of a 50-row page).
    @cached_property
    def _oracle(self) -> OracleSerializer:
        return OracleSerializer()

    @cached_property
    def _result(self) -> PropResultSerializer:
        return PropResultSerializer()

    def get_oracle(self, prop) -> dict | None:
        return self._oracle.to_representation(prop) if prop.oracle_mean is not None else None

    def get_result(self, prop) -> dict | None:
        status = getattr(prop, "result_status", None)
        return self._result.to_representation(prop) if status else None


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
#
# The prop request is defined once, by ``PropRequestSerializer`` (the API schema documents it).
# ``parse_prop`` is the fast path of the same rules for batches (a serializer per item costs
# more than pricing it: 10,000 items); a property test checks that both accept exactly the same
# items with the same errors (tests/predictions/test_prop_request_contract.py).

MAX_LINE = 100_000.0
MAX_DECIMAL_ODDS = 1_000.0
REFERENCE_MAX_LENGTH = 64
SEASONS = (1800, 3000)  # exclusive bounds of a season year

NOT_AN_OBJECT = "each prop is a JSON object"
SPORT_REQUIRED = "required: a sport code (mlb, nba, nfl, nhl)"
STAT_REQUIRED = "required: a stat code, e.g. points"
LINE_REQUIRED = "required: a finite number"
PLAYER_REQUIRED = "required: a player id (integer) or external id (string)"
GAME_OR_SEASON = "give a game (id or external id) or, for season props (MLB), a season"
GAME_INVALID = "a game id (integer) or external id (string)"
SEASON_INVALID = "a season year, e.g. 2024"
ODDS_INVALID = f"decimal odds above 1 (at most {MAX_DECIMAL_ODDS:g})"


def _number(value) -> float | None:
    """A finite JSON number (not a boolean, not a string) as a float, else None."""
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
    if isinstance(value, str) and 0 < len(value.strip()) <= REFERENCE_MAX_LENGTH:
        return value.strip()
    return None


def _season(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not SEASONS[0] < value < SEASONS[1]:
        return None
    return value


def _odds(value) -> float | None:
    number = _number(value)
    return number if number is not None and 1.0 < number <= MAX_DECIMAL_ODDS else None


def _unknown_fields(item: dict) -> list[str]:
    unknown = sorted(set(item) - set(PROP_FIELDS))
    return [f"unknown field(s): {', '.join(unknown)}"] if unknown else []


def parse_prop(item) -> tuple[PropRequest | None, dict[str, list[str]]]:
    """Validate one prop of a request: (PropRequest, {}) or (None, {field: [messages]}); the
    fast path of ``PropRequestSerializer``'s rules."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": [NOT_AN_OBJECT]}
    errors: dict[str, list[str]] = {}
    if unknown := _unknown_fields(item):
        errors["non_field_errors"] = unknown
    sport, stat = item.get("sport"), item.get("stat")
    if not isinstance(sport, str) or not sport:
        errors["sport"] = [SPORT_REQUIRED]
    if not isinstance(stat, str) or not stat:
        errors["stat"] = [STAT_REQUIRED]
    line = _number(item.get("line"))
    if line is None or abs(line) > MAX_LINE:
        errors["line"] = [LINE_REQUIRED]
    player = _reference(item.get("player"))
    if player is None:
        errors["player"] = [PLAYER_REQUIRED]
    game_given, season_given = item.get("game") is not None, item.get("season") is not None
    game = _reference(item.get("game")) if game_given else None
    season = _season(item.get("season")) if season_given else None
    if game_given == season_given:
        errors["game"] = [GAME_OR_SEASON]
    elif game_given and game is None:
        errors["game"] = [GAME_INVALID]
    elif season_given and season is None:
        errors["season"] = [SEASON_INVALID]
    odds = {}
    for name in ("over_decimal_odds", "under_decimal_odds"):
        odds[name] = None if item.get(name) is None else _odds(item.get(name))
        if item.get(name) is not None and odds[name] is None:
            errors[name] = [ODDS_INVALID]
    if errors:
        return None, errors
    return PropRequest(sport=sport.lower(), stat=stat, line=line, player=player, game=game, season=season, **odds), {}


class _StrictField(serializers.Field):
    """A field that takes JSON values as they are (no coercion of numbers to strings or back)
    and checks them with one of the rules above; ``message`` is its one error."""

    def __init__(self, *, check, message: str, schema: dict, **kwargs):
        self.check, self.message, self.schema = check, message, schema
        kwargs.setdefault("error_messages", {"required": message, "null": message})
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = self.check(data)
        if value is None:
            raise serializers.ValidationError(self.message)
        return value

    def to_representation(self, value):
        return value


def _odds_field(description: str) -> _StrictField:
    schema = {"type": "number", "exclusiveMinimum": 1, "maximum": MAX_DECIMAL_ODDS, "description": description}
    return _StrictField(check=_odds, message=ODDS_INVALID, required=False, allow_null=True, schema=schema)


class PropRequestSerializer(serializers.Serializer):
    """One prop to price: the definition of a prop request (``parse_prop`` is its fast path)."""

    default_error_messages = {"invalid": NOT_AN_OBJECT}

    sport = _StrictField(
        check=lambda v: v.lower() if isinstance(v, str) and v else None,
        message=SPORT_REQUIRED,
        schema={"type": "string", "description": "mlb, nba, nfl or nhl."},
    )
    stat = _StrictField(
        check=lambda v: v if isinstance(v, str) and v else None,
        message=STAT_REQUIRED,
        schema={"type": "string", "description": "A stat of the sport, e.g. points."},
    )
    line = _StrictField(
        check=lambda v: n if (n := _number(v)) is not None and abs(n) <= MAX_LINE else None,
        message=LINE_REQUIRED,
        schema={"type": "number", "minimum": -MAX_LINE, "maximum": MAX_LINE},
    )
    player = _StrictField(
        check=_reference,
        message=PLAYER_REQUIRED,
        schema={
            "oneOf": [
                {"type": "integer", "minimum": 1, "description": "Player id."},
                {"type": "string", "minLength": 1, "maxLength": REFERENCE_MAX_LENGTH, "description": "External id."},
            ]
        },
    )
    game = _StrictField(
        check=_reference,
        message=GAME_INVALID,
        required=False,
        allow_null=True,
        schema={
            "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1, "maxLength": 64}],
            "description": "Game id or external id (game sports). Give a game or a season, not both.",
        },
    )
    season = _StrictField(
        check=_season,
        message=SEASON_INVALID,
        required=False,
        allow_null=True,
        schema={
            "type": "integer",
            "exclusiveMinimum": SEASONS[0],
            "exclusiveMaximum": SEASONS[1],
            "description": "Season year; season props (MLB).",
        },
    )
    over_decimal_odds = _odds_field(
        "The book's decimal price of the over. With both prices the model's probabilities are pooled "
        "with the book's de-vigged price at this line (its line calibration); otherwise they are the "
        "model's own. The edge is computed for each side that has a price."
    )
    under_decimal_odds = _odds_field("The book's decimal price of the under (see over_decimal_odds).")

    def run_validation(self, data=empty):
        # Anything but an object (null included) is one error, before DRF's own handling of
        # null ("No data provided"), which a batch item would otherwise get.
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": [NOT_AN_OBJECT]})
        return super().run_validation(data)

    def to_internal_value(self, data):
        """Every field's rule and the cross-field ones, all reported at once (as parse_prop)."""
        errors: dict[str, list[str]] = {}
        if unknown := _unknown_fields(data):
            errors["non_field_errors"] = unknown
        values = {}
        for name, field in self.fields.items():
            try:
                values[name] = field.run_validation(data.get(name, empty) if name in data else empty)
            except serializers.ValidationError as exc:
                errors[name] = [str(message) for message in exc.detail]
            except serializers.SkipField:
                values[name] = None
        game_given, season_given = data.get("game") is not None, data.get("season") is not None
        if game_given == season_given:
            errors.pop("season", None)
            errors["game"] = [GAME_OR_SEASON]
        elif game_given:
            errors.pop("season", None)
        if errors:
            raise serializers.ValidationError(errors)
        return values

    def create(self, validated_data) -> PropRequest:
        return PropRequest(**validated_data)


PROP_FIELDS = tuple(PropRequestSerializer._declared_fields)


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

    @cached_property
    def _prediction(self) -> PropPredictionSerializer:
        return PropPredictionSerializer()

    def get_prediction(self, prop) -> dict | None:
        prediction = self.context.get("predictions", {}).get(getattr(prop, "pred_id", None))
        return self._prediction.to_representation(prediction) if prediction else None


class _StrictFieldSchema(OpenApiSerializerFieldExtension):
    """drf-spectacular: a ``_StrictField`` documents itself with its own schema."""

    target_class = _StrictField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return dict(self.target.schema)
