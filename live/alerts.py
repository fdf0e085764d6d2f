"""Per-user alerts. The predictions app calls ``raise_edge_crossings`` when odds ticks move
props' best edges (and ``raise_edge_alert`` for one user and one edge)."""

from __future__ import annotations

import math

from .models import AlertPreference
from .services import publish_alert

DEFAULT_MIN_EDGE = float(AlertPreference._meta.get_field("min_edge").default)


def _checked_edge(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number (0.05 = 5%).")
    return float(value)


def raise_edge_alert(user_id: int, data: dict) -> bool:
    """Publish ``alert.edge`` to the user's ``alerts`` if ``data["edge"]`` reaches their threshold.

    ``data`` is what the client shows (sport, game, player, stat, line, edge, ...). Returns
    whether an alert was sent.
    """
    edge = _checked_edge(data.get("edge") if isinstance(data, dict) else None, "data['edge']")
    preference = AlertPreference.objects.filter(user_id=user_id).values_list("min_edge", flat=True).first()
    threshold = float(preference) if preference is not None else DEFAULT_MIN_EDGE
    if edge < threshold:
        return False
    publish_alert(user_id=user_id, type="alert.edge", data={**data, "threshold": threshold})
    return True


def edge_alert_thresholds() -> dict[int, float]:
    """Who is told about edges as the market moves: every active user with an AlertPreference
    row (made the first time they read or save their thresholds at ``/api/alerts/preferences/``),
    with their ``min_edge``. Users who never did get no market alerts."""
    rows = AlertPreference.objects.filter(user__is_active=True).values_list("user_id", "min_edge")
    return {user_id: float(min_edge) for user_id, min_edge in rows}


def raise_edge_crossings(crossings: list[dict]) -> int:
    """Alert each eligible user (``edge_alert_thresholds``) whose threshold a prop's best edge
    crossed upward: ``previous_edge`` below their ``min_edge`` or None (unknown), ``data["edge"]``
    at or above it. A prop that stays above its user's threshold is not announced again; one
    that falls below and comes back is. ``crossings``: ``[{"previous_edge": float | None,
    "data": {...what the client shows, with "edge"}}]``. Returns the alerts sent (published
    after commit when inside a transaction)."""
    checked = []
    for crossing in crossings:
        edge = _checked_edge(crossing["data"].get("edge"), "data['edge']")
        previous = crossing.get("previous_edge")
        previous = None if previous is None else _checked_edge(previous, "previous_edge")
        checked.append((previous, edge, crossing["data"]))
    if not checked:
        return 0
    sent = 0
    for user_id, threshold in edge_alert_thresholds().items():
        for previous, edge, data in checked:
            if edge >= threshold and (previous is None or previous < threshold):
                publish_alert(
                    user_id=user_id, type="alert.edge", data={**data, "previous_edge": previous, "threshold": threshold}
                )
                sent += 1
    return sent
