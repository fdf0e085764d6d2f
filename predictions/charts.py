"""Small inline SVG charts for the pages: no JavaScript, no image files, cheap to render.

Every chart takes plain numbers and returns an SVG string whose text is escaped.
"""

from __future__ import annotations

from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c")


def _scale(values: list[float], low_px: float, high_px: float, pad: float = 0.05):
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5, high + 0.5
    span = high - low
    low, high = low - pad * span, high + pad * span
    return low, high, (lambda v: low_px + (v - low) / (high - low) * (high_px - low_px))


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    title: str,
    y_label: str = "",
    reference: tuple[str, float] | None = None,
    width: int = 520,
    height: int = 220,
    testid: str = "chart",
) -> str:
    """Lines of (x, y) points (x: any increasing number, e.g. graded props or a time index),
    with an optional dashed reference line (label, y)."""
    left, right, top, bottom = 56, width - 12, 28, height - 30
    points = [p for values in series.values() for p in values]
    if not points:
        return ""
    ys = [y for _, y in points] + ([reference[1]] if reference else [])
    xs = [x for x, _ in points]
    y_low, y_high, y_px = _scale(ys, bottom, top)
    _, _, x_px = _scale(xs, left, right, pad=0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'style="max-width:100%;height:auto" role="img" '
        f'aria-label="{escape(title)}" data-testid="{escape(testid)}" class="chart">',
        f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#999"/>',
        f'<text x="4" y="{top + 4}" font-size="10">{y_high:.3g}</text>',
        f'<text x="4" y="{bottom}" font-size="10">{y_low:.3g}</text>',
        f'<text x="{left}" y="{height - 8}" font-size="10">{escape(y_label)}</text>',
    ]
    if reference:
        y = y_px(reference[1])
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#555" stroke-dasharray="4 3"/>'
            f'<text x="{right - 4}" y="{y - 4:.1f}" font-size="10" text-anchor="end">{escape(reference[0])}</text>'
        )
    legend_x = left + 8
    for index, (label, values) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        if len(values) == 1:
            x, y = values[0]
            parts.append(f'<circle cx="{x_px(x):.1f}" cy="{y_px(y):.1f}" r="3" fill="{color}"/>')
        else:
            path = " ".join(f"{x_px(x):.1f},{y_px(y):.1f}" for x, y in values)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        parts.append(f'<text x="{legend_x}" y="{top + 12}" font-size="11" fill="{color}">{escape(label)}</text>')
        legend_x += 8 + 7 * len(label)
    parts.append("</svg>")
    return "".join(parts)


def distribution_chart(
    values: list[int], probabilities: list[float], *, line: float, title: str, width: int = 560, height: int = 240
) -> str:
    """Bars of P(stat = value) with the book line drawn across; bars over the line are dark."""
    if not values:
        return ""
    left, right, top, bottom = 48, width - 12, 28, height - 30
    top_p = max(probabilities) or 1.0
    slot = (right - left) / len(values)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'style="max-width:100%;height:auto" role="img" '
        f'aria-label="{escape(title)}" data-testid="distribution-chart" class="chart">',
        f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>',
        f'<text x="4" y="{top + 4}" font-size="10">{top_p:.3f}</text>',
    ]
    label_every = max(1, len(values) // 12)
    for index, (value, probability) in enumerate(zip(values, probabilities, strict=True)):
        x = left + index * slot
        bar = (bottom - top) * probability / top_p
        color = "#1d4ed8" if value > line else ("#9ca3af" if value == line else "#93c5fd")
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{bottom - bar:.1f}" width="{max(slot - 2, 1):.1f}" height="{bar:.1f}" '
            f'fill="{color}"><title>P({value}) = {probability:.4f}</title></rect>'
        )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{bottom + 14}" font-size="10" text-anchor="middle">{value}</text>'
            )
    # The line sits between the bars of floor(line) and ceil(line) (on the bar for an integer line).
    position = (line - values[0] + 0.5) * slot + left
    parts.append(
        f'<line x1="{position:.1f}" y1="{top}" x2="{position:.1f}" y2="{bottom}" stroke="#dc2626" stroke-width="2"/>'
        f'<text x="{position + 4:.1f}" y="{top + 10}" font-size="11" fill="#dc2626">line {line:g}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
