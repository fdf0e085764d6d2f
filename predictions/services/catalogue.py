"""The sports catalogue: the Sport rows mirror the engine's (engine.sports.SPORTS)."""

from __future__ import annotations

from ..engine.sports import SPORTS
from ..models import Sport
from ..selectors import sport_id_map


def no_progress(fraction: float, message: str = "") -> None:
    """The progress callback of a use case run without a job or a progress bar."""
    return None


def sports_sync_catalogue() -> dict[str, int]:
    """Make the Sport rows match the engine's catalogue (idempotent); code → pk."""
    existing = {sport.code: sport for sport in Sport.objects.all()}
    for code, definition in SPORTS.items():
        values = {"label": definition.label, "simulated": definition.simulated, "horizon": definition.horizon}
        sport = existing.get(code)
        if sport is None:
            Sport.objects.create(code=code, **values)
        elif any(getattr(sport, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(sport, name, value)
            sport.save(update_fields=list(values))
    return sport_id_map()
