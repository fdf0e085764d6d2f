"""Page panels: domain apps add sections to a1site's pages (the Dashboard, the Models page)
from their AppConfig.ready(), so a1site imports no domain app.

``render(request) -> str | None`` returns the section's HTML (None or "" to show nothing); a
panel that fails is logged and left out, so one app cannot break another's page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.safestring import mark_safe

logger = logging.getLogger(__name__)

Render = Callable[[object], "str | None"]


@dataclass(frozen=True)
class Panel:
    page: str
    key: str
    render: Render


_PANELS: dict[str, dict[str, Panel]] = {}


def register_panel(*, page: str, key: str, render: Render) -> None:
    _PANELS.setdefault(page, {})[key] = Panel(page, key, render)


def render_panels(request, *, page: str) -> list[str]:
    """The HTML of each panel of ``page``, in registration order."""
    sections = []
    for panel in _PANELS.get(page, {}).values():
        try:
            html = panel.render(request)
        except Exception:
            logger.exception("panel failed", extra={"page": page, "panel": panel.key})
            continue
        if html:
            sections.append(mark_safe(html))  # noqa: S308 - rendered by the owning app's templates
    return sections
