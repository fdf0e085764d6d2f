"""Scores of prop predictions, and the plots shown with each model version.

Binary metrics score P(over) at the book line. A push refunds the bet, so a push is neither
a win nor a loss: pushed props are left out of log loss, Brier and ECE, and the predicted
probability is taken conditional on no push, P(over) / (P(over) + P(under)), for every
predictor alike (models, baselines, the book's de-vigged price). MAE compares each
predictor's point forecast with the actual stat over all rows, pushes included. A predictor
that is a predictive distribution (the models, the simulated sports' oracle) gives its
median, the point that minimises expected absolute error (engine.models.predictive_median);
one that is a point projection (Marcel, the recent average) gives that projection as it is,
and the book its line.

ECE (expected calibration error) uses 10 equal-width bins of predicted P(over) on [0, 1]:
the row-weighted mean over bins of |mean predicted - observed over rate|.

Betting: a predictor's edge on a side is P(side | no push) x decimal odds - 1, the expected
return per unit staked given the bet settles, and it bets the side with the larger edge (as
predictions.serving.edges prices what the product shows). A flat 1-unit stake wins decimal
odds - 1, loses 1, and a push refunds it (profit 0, still counted as a bet placed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

_EPSILON = 1e-12
ECE_BINS = 10


def conditional_p_over(p_over, p_under) -> np.ndarray:
    p_over = np.asarray(p_over, float)
    p_under = np.asarray(p_under, float)
    return p_over / np.maximum(p_over + p_under, _EPSILON)


def outcomes(actual, line) -> tuple[np.ndarray, np.ndarray]:
    """(went_over, settled) per prop: settled is False for a push."""
    actual = np.asarray(actual, float)
    line = np.asarray(line, float)
    return actual > line, actual != line


def log_loss_terms(p_over_no_push, went_over) -> np.ndarray:
    p = np.clip(np.asarray(p_over_no_push, float), _EPSILON, 1 - _EPSILON)
    return -np.where(went_over, np.log(p), np.log1p(-p))


def log_loss(p_over_no_push, went_over) -> float:
    return float(np.mean(log_loss_terms(p_over_no_push, went_over)))


def brier(p_over_no_push, went_over) -> float:
    return float(np.mean((np.asarray(p_over_no_push, float) - np.asarray(went_over, float)) ** 2))


def mae(point_forecast, actual) -> float:
    return float(np.mean(np.abs(np.asarray(point_forecast, float) - np.asarray(actual, float))))


def reliability_bins(p_over_no_push, went_over, bins: int = ECE_BINS):
    """(mean predicted, observed rate, count) per equal-width bin; empty bins are NaN / 0."""
    p = np.asarray(p_over_no_push, float)
    y = np.asarray(went_over, float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(index, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted = np.bincount(index, weights=p, minlength=bins) / count
        observed = np.bincount(index, weights=y, minlength=bins) / count
    return predicted, observed, count


def ece(p_over_no_push, went_over, bins: int = ECE_BINS) -> float:
    predicted, observed, count = reliability_bins(p_over_no_push, went_over, bins)
    filled = count > 0
    return float(np.sum(count[filled] * np.abs(predicted[filled] - observed[filled])) / max(count.sum(), 1))


def prop_metrics(p_over, p_under, point, actual, line) -> dict:
    """{log_loss, brier, mae, ece, n_test}: binary metrics on settled props, MAE of the point
    forecast ``point`` on all."""
    went_over, settled = outcomes(actual, line)
    p = conditional_p_over(p_over, p_under)[settled]
    y = went_over[settled]
    return {
        "log_loss": log_loss(p, y) if len(y) else float("nan"),
        "brier": brier(p, y) if len(y) else float("nan"),
        "mae": mae(point, actual) if point is not None else float("nan"),
        "ece": ece(p, y) if len(y) else float("nan"),
        "n_test": int(len(np.asarray(actual))),
    }


def side_edges(p_over, p_under, over_decimal_odds, under_decimal_odds) -> tuple[np.ndarray, np.ndarray]:
    """(edge of the over, edge of the under): P(side | no push) x decimal odds - 1 each (NaN
    where a price is missing, given as NaN)."""
    p_over = np.asarray(p_over, float)
    p_under = np.asarray(p_under, float)
    settled = np.maximum(p_over + p_under, _EPSILON)
    edge_over = p_over / settled * np.asarray(over_decimal_odds, float) - 1.0
    edge_under = p_under / settled * np.asarray(under_decimal_odds, float) - 1.0
    return edge_over, edge_under


def best_side_edges(p_over, p_under, over_decimal_odds, under_decimal_odds) -> tuple[np.ndarray, np.ndarray]:
    """(edge, bet_over) per prop: the larger of the two sides' edges and whether it is the over
    (ties go to the over). Edge = P(side | no push) x decimal odds - 1: the expected return per
    unit staked when a push refunds the stake (for a half line P(side | no push) = P(side)).
    Serving shows the same number (predictions.serving.edges)."""
    edge_over, edge_under = side_edges(p_over, p_under, over_decimal_odds, under_decimal_odds)
    bet_over = ~(edge_under > edge_over)
    return np.where(bet_over, edge_over, edge_under), bet_over


def flat_stake_profit(bet_over, over_decimal_odds, under_decimal_odds, actual, line) -> np.ndarray:
    """Profit per prop of 1 unit staked on the over (``bet_over`` True) or the under: decimal
    odds - 1 on a win, -1 on a loss, 0 on a push."""
    bet_over = np.asarray(bet_over, bool)
    went_over, settled = outcomes(actual, line)
    odds = np.where(bet_over, np.asarray(over_decimal_odds, float), np.asarray(under_decimal_odds, float))
    won = went_over == bet_over
    return np.where(settled, np.where(won, odds - 1.0, -1.0), 0.0)


@dataclass(frozen=True)
class FlatStakeRoi:
    """Realized return of flat 1-unit bets: ``roi`` is the mean profit per bet placed and
    ``standard_error`` its sample standard error (bets taken as independent)."""

    n_bets: int
    n_pushes: int
    roi: float
    standard_error: float

    @property
    def interval95(self) -> tuple[float, float]:
        half_width = 1.959964 * self.standard_error
        return self.roi - half_width, self.roi + half_width


def flat_stake_roi(profit) -> FlatStakeRoi:
    """ROI of flat 1-unit bets from their profits (flat_stake_profit); NaN ROI without bets and
    NaN standard error with fewer than two."""
    profit = np.asarray(profit, float)
    n = len(profit)
    return FlatStakeRoi(
        n_bets=n,
        n_pushes=int(np.sum(profit == 0.0)),
        roi=float(profit.mean()) if n else float("nan"),
        standard_error=float(profit.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
    )


def _figure_bytes(figure) -> bytes:
    # matplotlib is imported where used: importing it costs ~0.9 s in a fresh
    # process (measured), which commands and pages that never draw a plot skip.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _title(title: str, simulated: bool) -> str:
    return f"{title} (simulated data)" if simulated else title


def reliability_png(curves: dict[str, tuple[np.ndarray, np.ndarray]], *, title: str, simulated: bool) -> bytes:
    """A reliability diagram: for each predictor name -> (P(over | no push), went_over)."""
    # matplotlib: imported where a plot is drawn (see _figure_bytes).
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 5.0))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    for name, (p, y) in curves.items():
        predicted, observed, count = reliability_bins(p, y)
        filled = count > 0
        axes.plot(
            predicted[filled], observed[filled], marker="o", linewidth=1.5, label=f"{name} (ECE {100 * ece(p, y):.1f}%)"
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("Predicted P(over | no push)")
    axes.set_ylabel("Observed over rate")
    axes.set_title(_title(title, simulated))
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)
    return _figure_bytes(figure)


def feature_importance_png(importance: dict[str, float], *, title: str, simulated: bool, top: int = 15) -> bytes:
    """Horizontal bars of the ``top`` features by importance (share of total gain)."""
    # matplotlib: imported where a plot is drawn (see _figure_bytes).
    from matplotlib.figure import Figure

    items = sorted(importance.items(), key=lambda item: item[1], reverse=True)[:top]
    total = sum(importance.values()) or 1.0
    names = [name for name, _ in items][::-1]
    shares = [100 * value / total for _, value in items][::-1]
    figure = Figure(figsize=(6.5, 0.35 * len(names) + 1.5))
    axes = figure.add_subplot()
    axes.barh(names, shares, color="#3b6ea8")
    axes.set_xlabel("Share of XGBoost total gain (%)")
    axes.set_ylabel("Feature")
    axes.set_title(_title(title, simulated))
    axes.grid(axis="x", alpha=0.3)
    return _figure_bytes(figure)
