"""Validation of what clients send to the explanations API."""

from rest_framework import serializers

from ..engine.explainer import LEVELS


class LevelQuerySerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=LEVELS, default="standard")


class BatchSerializer(serializers.Serializer):
    """The size limit (1,000 → 413) is checked before this, on the raw list."""

    prediction_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False)
    level = serializers.ChoiceField(choices=LEVELS, default="fast")


class WhatIfSerializer(serializers.Serializer):
    prediction = serializers.IntegerField(min_value=1)
    changes = serializers.DictField(child=serializers.JSONField(), allow_empty=True)
    level = serializers.ChoiceField(choices=LEVELS, default="standard")

    def validate_changes(self, changes):
        errors = {}
        for name, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors[name] = [f"expected a number; got {value!r}"]
        if errors:
            raise serializers.ValidationError(errors)
        return changes


class JobStartSerializer(serializers.Serializer):
    prediction_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False)
    level = serializers.ChoiceField(choices=LEVELS, default="detailed")


class InsightJobSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(min_value=1)
