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


CHART_WIDTH = 640
CHART_HEIGHT = 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 30, 34


def bankroll_svg(
    series: list[tuple[str, list[float]]],
    *,
    title: str,
    testid: str,
    x_labels: tuple[str, str] = ("", ""),
) -> str:
    """Bankroll paths (label, values: the start then the bankroll after each step) as lines on
    one axis, with the starting bankroll dashed across. Colours come from classes (series-0,
    series-1, …) in static/portfolios/portfolios.css. Empty when no path has a step."""
    shown = [(label, values) for label, values in series if len(values) > 1]
    if not shown:
        return ""
    start = shown[0][1][0]
    every = [v for _, values in shown for v in values] + [start]
    low, high = min(every), max(every)
    pad = (high - low) * 0.08 or max(abs(start) * 0.05, 1.0)
    low, high = low - pad, high + pad
    steps = max(len(values) for _, values in shown) - 1
    right, bottom = CHART_WIDTH - MARGIN_RIGHT, CHART_HEIGHT - MARGIN_BOTTOM

    def x_at(index: int) -> float:
        return MARGIN_LEFT + (right - MARGIN_LEFT) * index / steps

    def y_at(value: float) -> float:
        return bottom - (bottom - MARGIN_TOP) * (value - low) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" '
        f'width="{CHART_WIDTH}" height="{CHART_HEIGHT}" class="pf-chart" role="img" '
        f'aria-label="{escape(title)}" data-testid="{escape(testid)}">',
        f'<text class="title" x="{MARGIN_LEFT}" y="16">{escape(title)}</text>',
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{bottom}"/>',
        f'<text class="tick" x="{MARGIN_LEFT - 4}" y="{MARGIN_TOP + 4}">{high:,.0f}</text>',
        f'<text class="tick" x="{MARGIN_LEFT - 4}" y="{bottom}">{low:,.0f}</text>',
        f'<text class="tick start" x="{MARGIN_LEFT}" y="{bottom + 16}">{escape(x_labels[0])}</text>',
        f'<text class="tick end" x="{right}" y="{bottom + 16}">{escape(x_labels[1])}</text>',
        f'<line class="reference" x1="{MARGIN_LEFT}" y1="{y_at(start):.1f}" x2="{right}" y2="{y_at(start):.1f}"/>',
    ]
    if MARGIN_TOP + 12 < y_at(start) < bottom - 12:  # its label would cover the top or bottom one
        parts.append(f'<text class="tick" x="{MARGIN_LEFT - 4}" y="{y_at(start) + 4:.1f}">{start:,.0f}</text>')
    legend_x = MARGIN_LEFT + 8
    for index, (label, values) in enumerate(shown):
        points = " ".join(f"{x_at(k):.1f},{y_at(v):.1f}" for k, v in enumerate(values))
        exact = " ".join(f"{v:.2f}" for v in values)
        parts.append(
            f'<polyline class="line series-{index}" points="{points}" data-series="{escape(label)}" '
            f'data-values="{exact}"/>'
        )
        parts.extend(
            f'<circle class="point series-{index}" cx="{x_at(k):.1f}" cy="{y_at(v):.1f}" r="2.5">'
            f"<title>{escape(label)}, step {k}: {v:,.2f}</title></circle>"
            for k, v in enumerate(values)
        )
        parts.append(
            f'<text class="legend series-{index}" x="{legend_x}" y="{MARGIN_TOP + 12}">'
            f"{escape(label)}: {values[-1]:,.2f}</text>"
        )
        legend_x += 24 + 7 * (len(label) + 12)
    parts.append("</svg>")
    return "".join(parts)
