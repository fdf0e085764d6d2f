"""Read-only shapes of the sports data. Every item says whether it is simulated."""

from rest_framework import serializers

from ..models import Game, Player, PropLine, Result, Sport, StatLine, Team


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
