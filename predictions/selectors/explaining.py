"""Reads for the explanations app: stored predictions with what explains them, a day's slate."""

from __future__ import annotations

import datetime as dt

__all__ = ["explainable_predictions", "explanation_key_fields", "slate_prediction_ids"]


def explainable_predictions(*, ids, include_shadow: bool = False) -> dict:
    """id → Prediction with its model version, weights row, game (with sport) and player, in
    one query; shadow predictions only with ``include_shadow``."""
    from ..models import Prediction

    wanted = [int(pk) for pk in ids]
    queryset = Prediction.objects.select_related("model_version", "weights", "game__sport", "player").order_by()
    if not include_shadow:
        queryset = queryset.filter(shadow=False)
    return queryset.in_bulk(wanted)


def explanation_key_fields(*, ids, include_shadow: bool = False) -> dict[int, tuple]:
    """id → (model_version_id, weights_id, feature_hash, line, over_decimal_odds,
    under_decimal_odds): what an explanation's cache key needs, in one narrow query (no joins)."""
    from ..models import Prediction

    queryset = Prediction.objects.filter(pk__in=[int(pk) for pk in ids]).order_by()
    if not include_shadow:
        queryset = queryset.filter(shadow=False)
    rows = queryset.values_list(
        "id", "model_version_id", "weights_id", "feature_hash", "line", "over_decimal_odds", "under_decimal_odds"
    )
    return {row[0]: row[1:] for row in rows}


def slate_prediction_ids(*, date: dt.date, version_id: int | None = None) -> list[int]:
    """Ids of the shown (non-shadow) predictions of the day's book props, latest first."""
    from ..models import Prediction

    queryset = Prediction.objects.filter(game__date=date, shadow=False, prop_line__isnull=False)
    if version_id is not None:
        queryset = queryset.filter(model_version_id=version_id)
    return list(queryset.order_by("-created_at", "-id").values_list("id", flat=True))
