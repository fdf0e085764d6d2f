"""Per-user alerts. The predictions app calls ``raise_edge_alert`` when a prop's edge is known."""

from __future__ import annotations

import math

from .models import AlertPreference
from .services import publish_alert

DEFAULT_MIN_EDGE = float(AlertPreference._meta.get_field("min_edge").default)


def raise_edge_alert(user_id: int, data: dict) -> bool:
    """Publish ``alert.edge`` to the user's ``alerts`` if ``data["edge"]`` reaches their threshold.

    ``data`` is what the client shows (sport, game, player, stat, line, edge, ...). Returns
    whether an alert was sent.
    """
    edge = data.get("edge") if isinstance(data, dict) else None
    if isinstance(edge, bool) or not isinstance(edge, int | float) or not math.isfinite(edge):
        raise ValueError("data['edge'] must be a finite number (0.05 = 5%).")
    preference = AlertPreference.objects.filter(user_id=user_id).values_list("min_edge", flat=True).first()
    threshold = float(preference) if preference is not None else DEFAULT_MIN_EDGE
    if edge < threshold:
        return False
    publish_alert(user_id=user_id, type="alert.edge", data={**data, "threshold": threshold})
    return True
