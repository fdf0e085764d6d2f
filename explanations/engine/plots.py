"""matplotlib plots of explanations, as PNG or SVG bytes: a waterfall for one prediction, a
bar chart of global importance and a dependence plot for one feature. Pure: numbers in,
bytes out. Figures are matplotlib ``Figure`` objects drawn on the Agg canvas, not pyplot:
no global figure state shared by a server's threads, and no backend switch at import."""

from __future__ import annotations

import io

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
UP, DOWN, BASE = "#16a34a", "#dc2626", "#64748b"


def _figure(figsize: tuple[float, float]):
    """(figure, axes). matplotlib is imported where a plot is drawn: importing it costs ~0.9 s
    in a fresh process (measured), which every server process would pay at start-up."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def _bytes(figure, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use png or svg")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def waterfall(
    *,
    base: float,
    value: float,
    labels: list[str],
    contributions: list[float],
    title: str,
    unit: str,
    fmt: str = "png",
    top: int = 10,
) -> bytes:
    """Bars from the base to the output: the ``top`` largest contributions, the rest as one bar."""
    pairs = sorted(zip(labels, contributions, strict=True), key=lambda p: -abs(p[1]))
    shown = pairs[:top]
    rest = sum(c for _, c in pairs[top:])
    if len(pairs) > top:
        shown.append((f"{len(pairs) - top} other features", rest))
    figure, axes = _figure((7.5, 0.45 * len(shown) + 1.6))
    running = base
    for row, (_label, contribution) in enumerate(shown):
        axes.barh(row, contribution, left=running, color=UP if contribution >= 0 else DOWN)
        axes.text(running + contribution, row, f" {contribution:+.3g}", va="center", fontsize=8)
        running += contribution
    axes.set_yticks(range(len(shown)), [label[:60] for label, _ in shown], fontsize=8)
    axes.invert_yaxis()
    axes.axvline(base, color=BASE, linestyle="--", linewidth=1)
    axes.axvline(value, color="#111827", linewidth=1)
    axes.set_xlabel(f"{unit}: base {base:.3g} → {value:.3g}")
    axes.set_title(title, fontsize=10)
    return _bytes(figure, fmt)


def importance_bar(*, labels: list[str], values: list[float], title: str, unit: str, fmt: str = "png") -> bytes:
    figure, axes = _figure((7.5, 0.35 * len(labels) + 1.4))
    axes.barh(range(len(labels)), values, color="#2563eb")
    axes.set_yticks(range(len(labels)), [label[:60] for label in labels], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(f"mean |contribution| ({unit})")
    axes.set_title(title, fontsize=10)
    return _bytes(figure, fmt)


def dependence(*, x: list[float], shap: list[float], feature: str, title: str, unit: str, fmt: str = "png") -> bytes:
    figure, axes = _figure((6, 4))
    axes.scatter(x, shap, s=8, alpha=0.6, color="#2563eb")
    axes.axhline(0, color=BASE, linewidth=0.8)
    axes.set_xlabel(feature)
    axes.set_ylabel(f"contribution to the mean ({unit})")
    axes.set_title(title, fontsize=10)
    return _bytes(figure, fmt)
