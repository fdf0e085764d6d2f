"""Per-user alerts. The predictions app calls ``raise_edge_crossings`` when odds ticks move
props' best edges (and ``raise_edge_alert`` for one user and one edge)."""

from __future__ import annotations

import math

from django.core.cache import cache

from .models import AlertPreference
from .services import publish_alert

DEFAULT_MIN_EDGE = float(AlertPreference._meta.get_field("min_edge").default)
# After an alert, a prop is announced to that user again only once its best edge has fallen
# this far below their threshold: a price flapping around it (5.1 %, 4.9 %, 5.1 %...) alerts
# once. Who was alerted about what lives in the cache (Redis in the services mode, shared by
# the workers); a lost entry costs one repeated alert at most.
REARM_MARGIN = 0.01
ALERTED_TTL_S = 7 * 24 * 3600


def _alerted_key(user_id: int, prop: str) -> str:
    return f"live:edge-alerted:{user_id}:{prop}"


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


def raise_edge_crossings(moves: list[dict]) -> int:
    """Alert each eligible user (``edge_alert_thresholds``) whose threshold a prop's best edge
    crossed upward: ``previous_edge`` below their ``min_edge`` or None (unknown), ``edge`` at or
    above it, unless they were already alerted about that prop and its edge has not since
    fallen ``REARM_MARGIN`` below their threshold. A prop that stays above a threshold is not
    announced again, nor one that dips just below and comes back; one that falls well below
    and comes back is.

    ``moves``: every prop whose best edge a batch set, ``[{"prop": str (the prop's identity),
    "previous_edge": float | None, "edge": float, "data": {...what the client shows} | None}]``;
    falls re-arm, crossings (with ``data``) alert. Returns the alerts sent (published after
    commit when inside a transaction)."""
    checked = []
    for move in moves:
        edge = _checked_edge(move.get("edge"), "edge")
        previous = move.get("previous_edge")
        previous = None if previous is None else _checked_edge(previous, "previous_edge")
        checked.append((str(move["prop"]), previous, edge, move.get("data")))
    if not checked:
        return 0
    thresholds = edge_alert_thresholds()
    # Re-armed where the edge fell through the re-arm level in this batch (or came from nowhere):
    # a prop that stayed below it has nothing recorded since it last fell.
    rearm = [
        _alerted_key(user_id, prop)
        for user_id, threshold in thresholds.items()
        for prop, previous, edge, _ in checked
        if edge < threshold - REARM_MARGIN and (previous is None or previous >= threshold - REARM_MARGIN)
    ]
    if rearm:
        cache.delete_many(rearm)
    candidates = {
        _alerted_key(user_id, prop): (user_id, threshold, previous, data)
        for user_id, threshold in thresholds.items()
        for prop, previous, edge, data in checked
        if data is not None and edge >= threshold and (previous is None or previous < threshold)
    }
    if not candidates:
        return 0
    already = cache.get_many(list(candidates))
    sent = []
    for key, (user_id, threshold, previous, data) in candidates.items():
        if key in already:
            continue
        alert = {**data, "previous_edge": previous, "threshold": threshold}
        publish_alert(user_id=user_id, type="alert.edge", data=alert)
        sent.append(key)
    cache.set_many(dict.fromkeys(sent, True), timeout=ALERTED_TTL_S)
    return len(sent)
