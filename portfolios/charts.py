"""The allocation chart as inline SVG: each bet's stake beside its independent Kelly stake."""

from __future__ import annotations

from django.utils.html import escape

BAR_HEIGHT = 9
ROW = 26
LABEL_WIDTH = 260
PLOT_WIDTH = 420


def allocation_svg(rows: list[tuple[str, float, float]]) -> str:
    """rows: (label, stake, independent Kelly stake); only rows with either above zero."""
    shown = [r for r in rows if r[1] > 0 or r[2] > 0]
    if not shown:
        return ""
    top = max(max(r[1], r[2]) for r in shown) or 1.0
    height = ROW * len(shown) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_WIDTH + PLOT_WIDTH + 70}" height="{height}" '
        f'role="img" aria-label="Stakes beside independent Kelly" data-testid="allocation-chart">'
    ]
    for index, (label, stake, kelly) in enumerate(shown):
        y = 10 + index * ROW
        parts.append(f'<text x="0" y="{y + 12}" font-size="12">{escape(label[:40])}</text>')
        for offset, value, colour, name in (
            (0, stake, "#2b6cb0", "stake"),
            (BAR_HEIGHT + 1, kelly, "#b7b7b7", "kelly"),
        ):
            width = PLOT_WIDTH * value / top
            parts.append(
                f'<rect class="{name}" x="{LABEL_WIDTH}" y="{y + offset}" width="{width:.1f}" '
                f'height="{BAR_HEIGHT}" fill="{colour}"><title>{name} {value:.2f}</title></rect>'
            )
        parts.append(
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH * stake / top + 4:.1f}" y="{y + 9}" font-size="11">{stake:.2f}</text>'
        )
    legend_y = height - 8
    parts.append(
        f'<rect x="{LABEL_WIDTH}" y="{legend_y - 9}" width="10" height="10" fill="#2b6cb0"/>'
        f'<text x="{LABEL_WIDTH + 14}" y="{legend_y}" font-size="11">this allocation</text>'
        f'<rect x="{LABEL_WIDTH + 120}" y="{legend_y - 9}" width="10" height="10" fill="#b7b7b7"/>'
        f'<text x="{LABEL_WIDTH + 134}" y="{legend_y}" font-size="11">independent Kelly, scaled</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
