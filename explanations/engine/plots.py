"""matplotlib plots of explanations, as PNG or SVG bytes: a waterfall for one prediction, a
bar chart of global importance and a dependence plot for one feature. Pure: numbers in,
bytes out (the Agg backend, no display)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
UP, DOWN, BASE = "#16a34a", "#dc2626", "#64748b"


def _bytes(figure, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use png or svg")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110, bbox_inches="tight")
    plt.close(figure)
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
    figure, axes = plt.subplots(figsize=(7.5, 0.45 * len(shown) + 1.6))
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
    figure, axes = plt.subplots(figsize=(7.5, 0.35 * len(labels) + 1.4))
    axes.barh(range(len(labels)), values, color="#2563eb")
    axes.set_yticks(range(len(labels)), [label[:60] for label in labels], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(f"mean |contribution| ({unit})")
    axes.set_title(title, fontsize=10)
    return _bytes(figure, fmt)


def dependence(*, x: list[float], shap: list[float], feature: str, title: str, unit: str, fmt: str = "png") -> bytes:
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.scatter(x, shap, s=8, alpha=0.6, color="#2563eb")
    axes.axhline(0, color=BASE, linewidth=0.8)
    axes.set_xlabel(feature)
    axes.set_ylabel(f"contribution to the mean ({unit})")
    axes.set_title(title, fontsize=10)
    return _bytes(figure, fmt)
