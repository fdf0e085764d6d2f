from rest_framework import serializers

from ..engine.feed import FeedError, parse_rows
from ..models import AlertPreference, GameEvent, OddsTick
from ..services import game_row_parse, odds_row_parse


class _FeedSerializer(serializers.Serializer):
    """Accepts one row object, a list of rows, or ``{"<key>": [rows]}``; validated row by row
    by the same parser as the CSV replay, so errors read ``{"row 3": ["line: not a number"]}``."""

    parse = None
    key = ""

    def to_internal_value(self, data):
        rows = data.get(self.key, data) if isinstance(data, dict) else data
        if isinstance(rows, dict):
            rows = [rows]
        if not isinstance(rows, list) or not rows:
            raise serializers.ValidationError({self.key: ["Send a non-empty list of rows."]})
        try:
            return {self.key: parse_rows(rows, type(self).parse)}
        except FeedError as exc:
            raise serializers.ValidationError(exc.errors)


class OddsFeedSerializer(_FeedSerializer):
    """Tick rows; ``simulated`` (optional, default false) labels a tick as simulated data."""

    parse = staticmethod(odds_row_parse)
    key = "ticks"


class GameFeedSerializer(_FeedSerializer):
    """Event rows; ``simulated`` (optional, default false) labels an event as simulated data."""

    parse = staticmethod(game_row_parse)
    key = "events"


class OddsTickSerializer(serializers.ModelSerializer):
    game = serializers.CharField(source="game_external_id")
    player = serializers.CharField(source="player_name")
    player_id = serializers.CharField(source="player_external_id")

    class Meta:
        model = OddsTick
        fields = [
            "id",
            "sport",
            "game",
            "player",
            "player_id",
            "stat",
            "book",
            "line",
            "over_odds",
            "under_odds",
            "ts",
            "source",
            "simulated",
        ]


class GameEventSerializer(serializers.ModelSerializer):
    game = serializers.CharField(source="game_external_id")

    class Meta:
        model = GameEvent
        fields = [
            "id",
            "sport",
            "game",
            "kind",
            "home_team",
            "away_team",
            "home_score",
            "away_score",
            "period",
            "detail",
            "ts",
            "simulated",
        ]


class AlertPreferenceSerializer(serializers.ModelSerializer):
    min_edge = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=0, max_value=1, required=False)
    steam = serializers.BooleanField(required=False)

    class Meta:
        model = AlertPreference
        fields = ["min_edge", "steam", "updated_at"]
        read_only_fields = ["updated_at"]
