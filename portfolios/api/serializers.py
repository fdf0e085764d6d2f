from rest_framework import serializers

from ..engine import METHODS
from ..models import Bet, Opportunity, OptimizationRun, Portfolio


class LimitsSerializer(serializers.Serializer):
    max_exposure = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    max_per_bet = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    max_per_game = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    max_bets = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    min_stake = serializers.FloatField(required=False, min_value=0.0)
    increment = serializers.FloatField(required=False, min_value=0.0)
    kelly_fraction = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    risk_alpha = serializers.FloatField(required=False, allow_null=True)
    risk_beta = serializers.FloatField(required=False, allow_null=True)


class OpportunityInSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=200)
    decimal_odds = serializers.FloatField()
    other_decimal_odds = serializers.FloatField(required=False, allow_null=True)
    probability = serializers.FloatField()
    p_push = serializers.FloatField(required=False, default=0.0, min_value=0.0, max_value=1.0)
    event = serializers.CharField(required=False, allow_blank=True, max_length=120)
    side = serializers.ChoiceField(choices=["over", "under"], required=False, default="over")
    game = serializers.CharField(required=False, allow_blank=True, max_length=120)
    book_max = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)

    def validate_decimal_odds(self, value):
        if not value > 1:
            raise serializers.ValidationError("must be > 1")
        return value

    def validate_other_decimal_odds(self, value):
        if value is not None and not value > 1:
            raise serializers.ValidationError("must be > 1")
        return value

    def validate_probability(self, value):
        if not 0 < value < 1:
            raise serializers.ValidationError("must lie in (0, 1)")
        return value


class PropsFilterSerializer(serializers.Serializer):
    sport = serializers.CharField(required=False, max_length=10)
    date = serializers.DateField(required=False)
    stat = serializers.CharField(required=False, max_length=40)
    min_edge = serializers.FloatField(required=False, default=0.0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)


class PortfolioCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    bankroll = serializers.DecimalField(max_digits=14, decimal_places=2)
    limits = LimitsSerializer(required=False, default=dict)
    devig_method = serializers.ChoiceField(choices=list(METHODS), default="multiplicative")
    opportunities = OpportunityInSerializer(many=True, required=False)
    props_filter = PropsFilterSerializer(required=False)
    auto_rebalance = serializers.BooleanField(required=False, default=False)

    def validate_bankroll(self, value):
        if value <= 0:
            raise serializers.ValidationError("must be a positive amount")
        return value

    def validate(self, attrs):
        if not attrs.get("opportunities") and not attrs.get("props_filter"):
            raise serializers.ValidationError({"opportunities": "give opportunities or a props_filter"})
        return attrs


def portfolio_create_arguments(values: dict) -> dict:
    """``services.portfolio_create``'s arguments (without the owner) from a valid
    ``PortfolioCreateSerializer``'s data: the API and the builder page create portfolios alike."""
    props_filter = values.get("props_filter")
    if props_filter and props_filter.get("date"):
        props_filter = {**props_filter, "date": props_filter["date"].isoformat()}
    return {
        "name": values["name"],
        "bankroll": float(values["bankroll"]),
        "limits": {k: v for k, v in values["limits"].items() if v is not None},
        "devig_method": values["devig_method"],
        "opportunities": values.get("opportunities"),
        "props_filter": props_filter,
        "auto_rebalance": values["auto_rebalance"],
    }


class OpportunitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Opportunity
        fields = [
            "id",
            "position",
            "description",
            "decimal_odds",
            "probability",
            "p_push",
            "book_probability",
            "edge",
            "kelly_fraction",
            "event",
            "side",
            "game",
            "book_max",
            "prop_line_id",
            "market",
            "line",
        ]


class RunSerializer(serializers.ModelSerializer):
    class Meta:
        model = OptimizationRun
        fields = [
            "id",
            "job",
            "status",
            "seed",
            "reason",
            "details",
            "report",
            "error",
            "created_at",
            "finished_at",
            "accepted_at",
        ]


class PortfolioSerializer(serializers.ModelSerializer):
    class Meta:
        model = Portfolio
        fields = ["id", "name", "bankroll", "limits", "devig_method", "props_filter", "auto_rebalance", "created_at"]


class PortfolioDetailSerializer(PortfolioSerializer):
    opportunities = OpportunitySerializer(many=True, read_only=True)

    class Meta(PortfolioSerializer.Meta):
        fields = [*PortfolioSerializer.Meta.fields, "opportunities"]


class BetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Bet
        fields = [
            "id",
            "run",
            "opportunity",
            "description",
            "decimal_odds",
            "stake",
            "status",
            "profit",
            "clv",
            "placed_at",
            "settled_at",
        ]


class BetInSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=200)
    decimal_odds = serializers.FloatField()
    stake = serializers.DecimalField(max_digits=14, decimal_places=2)

    def validate_decimal_odds(self, value):
        if not value > 1:
            raise serializers.ValidationError("must be > 1")
        return value

    def validate_stake(self, value):
        if value <= 0:
            raise serializers.ValidationError("must be > 0")
        return value


class SettleSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["won", "lost", "push", "void"])


class PnlSerializer(serializers.Serializer):
    settled = serializers.IntegerField()
    open = serializers.IntegerField()
    staked = serializers.CharField()
    profit = serializers.CharField()
    roi = serializers.FloatField(allow_null=True, help_text="Profit / bankroll.")
    max_drawdown = serializers.FloatField(help_text="Largest fall from a peak of the bankroll path, as a fraction.")
    mean_clv = serializers.FloatField(allow_null=True, help_text="Mean closing line value of the settled bets.")
    bankroll_path = serializers.ListField(child=serializers.FloatField())

    def get_fields(self):
        # "yield" (profit / staked) is a Python keyword, so it cannot be declared as a name.
        fields = super().get_fields()
        fields["yield"] = serializers.FloatField(allow_null=True, help_text="Profit / staked.")
        return fields


class BetListSerializer(serializers.Serializer):
    bets = BetSerializer(many=True)
    pnl = PnlSerializer()


class BacktestInSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class BacktestQueuedSerializer(serializers.Serializer):
    job = serializers.UUIDField(help_text="Follow it at /api/jobs/{id}/; its result holds base and stress runs.")
