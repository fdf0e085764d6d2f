"""Reads for the explanations app: stored predictions with what explains them, a day's slate."""

from __future__ import annotations

import datetime as dt

__all__ = ["explainable_predictions", "slate_prediction_ids"]


def explainable_predictions(*, ids, include_shadow: bool = False) -> dict:
    """id → Prediction with its model version, weights row, game (with sport) and player, in
    one query; shadow predictions only with ``include_shadow``."""
    from ..models import Prediction

    wanted = [int(pk) for pk in ids]
    queryset = Prediction.objects.select_related("model_version", "weights", "game__sport", "player")
    if not include_shadow:
        queryset = queryset.filter(shadow=False)
    return queryset.in_bulk(wanted)


def slate_prediction_ids(*, date: dt.date, version_id: int | None = None) -> list[int]:
    """Ids of the shown (non-shadow) predictions of the day's book props, latest first."""
    from ..models import Prediction

    queryset = Prediction.objects.filter(game__date=date, shadow=False, prop_line__isnull=False)
    if version_id is not None:
        queryset = queryset.filter(model_version_id=version_id)
    return list(queryset.order_by("-created_at", "-id").values_list("id", flat=True))
