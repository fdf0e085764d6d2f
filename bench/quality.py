"""Model quality of the predictions engine on the demo data (no Django).

Trains every default model (each catalogue sport/stat: XGBoost + PyTorch + ensemble) on the
demo data, times it, and scores the held-out test periods:

- mlb_{hr,h,tb,k}_mae_vs_fair_marcel: ensemble MAE / fair Marcel MAE for home runs, hits,
  total bases and pitcher strikeouts, the mean over the rolling-origin test seasons
  2015-2024 (each season predicted by models trained only on the seasons before it, the one
  just before for validation; 2020's 60 games are no test season) with its standard error
  (seasons as units) and the 2024 season beside it. Targets: home runs and hits <= 0.96.
  Rows are qualified seasons (300 PA / 250 BF; props on the others are void), so the fair
  Marcel is told the player qualifies: Marcel's rate x a qualified player's playing time known
  before the season, max(Marcel's, 0.9 x last season's, 450 PA / 400 BF), the season book's
  rule without its noise (engine.marcel.fair_marcel_count). The baseline column is the same
  ratio against plain Marcel (its unconditional playing time). Only players who played in
  each of the three seasons before count (Marcel's full case); the others are scored apart
  (``notes.mlb_fair_marcel``, short_history). The ensemble is a predictive distribution, so
  its point forecast for MAE is its median (engine.models.predictive_median); Marcel is a
  point projection and is scored as it is.
- sim_logloss_vs_oracle: ensemble log loss / oracle log loss at the book line, pooled over
  every simulated test prop (target <= 1.02).
- ece_pct: expected calibration error of the ensemble's P(over), pooled over all test props,
  in percent (target <= 2).
- ece_sim_pct, ece_mlb_pct: the same ECE on simulated props only and on MLB season props only
  (about 1,100 props, so its 10-bin ECE carries several points of sampling noise).
- ensemble_vs_best_member_logloss: ensemble log loss / the log loss of the better member of
  each sport/stat, pooled over all test props. The better member is picked on the test period
  itself, an oracle choice that profits from the test's noise; when the members agree the
  ensemble cannot beat it by much, so the target is 1 + one standard error of the paired
  per-prop difference (over the better member's loss), computed in the run and printed beside
  the value. ensemble_vs_members_mean_logloss: ensemble log loss / the mean of its two
  members' (target < 1). Both per sport in ``notes.ensemble_against_members``.
- train_all_s: wall time to train all default models (target 600 s).
- Betting on the edges the product shows (no targets): every test prop is a candidate bet on
  the predictor's better side at the book's over/under prices, edge = P(side | no push) x
  decimal odds - 1 (engine.metrics.best_side_edges), settled flat 1-unit with pushes refunded.
  sim_share_edge5_pct: the share of simulated test props whose ensemble edge is >= 5 % (the
  alert level); sim_roi_edge{0,5}_pct: the realized mean profit per such bet; oracle_*: the
  same for the oracle's edges (the best any model could do against this book); mlb_*: the
  ensemble on the MLB 2024 season props. The ROI baseline is the realized ROI of betting
  both sides of every prop (the book's margin). ``notes.edge_betting`` has every threshold
  (EDGE_THRESHOLDS) with the bet count, mean displayed edge and the ROI's standard error.

Usage: .venv/bin/python bench/quality.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, results_path  # noqa: E402
from predictions.engine import metrics  # noqa: E402
from predictions.engine.training import (  # noqa: E402
    PropTable,
    StatDataset,
    TrainConfig,
    build_demo_datasets,
    quick_train_config,
    train_all,
    train_stat,
)

# Rolling-origin backtest seasons for the MLB MAE ratios: each is the test season of a model
# trained on the seasons before it (the one just before for validation), exactly as the 2024
# models are (2024 itself comes from the main run). 2020 (60 games) is no test season: no
# batter reached 300 PA; it still feeds 2021-2023 as a lag season.
BACKTEST_SEASONS = (2015, 2016, 2017, 2018, 2019, 2021, 2022, 2023)
BACKTEST_STATS = ("home_runs", "hits", "total_bases", "strikeouts")
# Short names of the MLB stats in metric names.
STAT_TAGS = {"home_runs": "hr", "hits": "h", "total_bases": "tb", "strikeouts": "k"}
# Targets of ensemble MAE / fair Marcel MAE, means over the 2015-2024 seasons.
FAIR_MARCEL_TARGETS = {"home_runs": 0.96, "hits": 0.96}
# A player with this many seasons of play among the three before is Marcel's full case; the
# others (Marcel regresses them to the league from little or no history) are scored apart.
FULL_HISTORY_SEASONS = 3
# Edge thresholds (fractions) for the betting table; 0.05 is the product's alert level.
EDGE_THRESHOLDS = (0.0, 0.02, 0.05, 0.10)


def truncate_seasons(dataset: StatDataset, last_season: int) -> StatDataset:
    """The MLB dataset as it stood with ``last_season`` as the latest (test) season: its rows
    and props up to that season. Features use only earlier seasons, so they are unchanged."""
    keep = dataset.game_id <= last_season
    new_row = np.cumsum(keep) - 1
    props = dataset.props
    kept_props = keep[props.row_index]
    return dataclasses.replace(
        dataset,
        X=dataset.X[keep],
        y=dataset.y[keep],
        dates=dataset.dates[keep],
        player_id=dataset.player_id[keep],
        game_id=dataset.game_id[keep],
        baselines={name: values[keep] for name, values in dataset.baselines.items()},
        training_offset_adjustment=None
        if dataset.training_offset_adjustment is None
        else dataset.training_offset_adjustment[keep],
        props=PropTable(
            row_index=new_row[props.row_index[kept_props]],
            **{
                field.name: getattr(props, field.name)[kept_props]
                for field in dataclasses.fields(PropTable)
                if field.name != "row_index"
            },
        ),
    )


def mae_ratios(result, dataset: StatDataset) -> dict:
    """MAE ratios on a result's test season, players with three seasons of history
    (FULL_HISTORY_SEASONS) apart from the others: the ensemble's (its median; ``ensemble_mean``
    its mean) and each member's MAE over the fair Marcel's (``fair``) and over plain Marcel's
    (``plain``); for the short-history players the summed absolute errors, pooled later."""
    evaluation = result.evaluation
    history = dataset.X[evaluation.row_index, dataset.schema.names.index("seasons_with_history")]
    full = history >= FULL_HISTORY_SEASONS
    actual, points = evaluation.actual, evaluation.point_forecasts

    def error(name, rows, point=None):
        forecast = points[name] if point is None else point
        return float(np.abs(forecast[rows] - actual[rows]).sum())

    fair, plain = error("fair_marcel", full), error("marcel", full)
    ensemble = error("ensemble", full)
    return {
        "season": int(result.test_first_date.astype(object).year),
        "n": int(full.sum()),
        "fair": ensemble / fair,
        "plain": ensemble / plain,
        "ensemble_mean_fair": error("ensemble", full, evaluation.predictions["ensemble"].mean) / fair,
        "xgboost_fair": error("xgboost", full) / fair,
        "torch_fair": error("torch", full) / fair,
        "fair_marcel_mae": fair / max(int(full.sum()), 1),
        "plain_marcel_mae": plain / max(int(full.sum()), 1),
        "short_history_n": int((~full).sum()),
        "short_history_ensemble_abs_error": error("ensemble", ~full),
        "short_history_fair_marcel_abs_error": error("fair_marcel", ~full),
        "short_history_plain_marcel_abs_error": error("marcel", ~full),
    }


def mlb_backtests(datasets, *, seed: int, config: TrainConfig, seasons=BACKTEST_SEASONS) -> dict[str, list[dict]]:
    """MAE ratios per backtest season for each stat of BACKTEST_STATS (the 2024 row comes
    from the main run)."""
    by_stat = {(d.sport, d.stat): d for d in datasets}
    backtests = {}
    for stat in BACKTEST_STATS:
        dataset = by_stat[("mlb", stat)]
        rows = []
        for season in seasons:
            if not np.any(dataset.game_id == season):
                continue
            truncated = truncate_seasons(dataset, season)
            rows.append(mae_ratios(train_stat(truncated, seed=seed, config=config), truncated))
            print(f"  backtest {stat} {season}: ensemble / fair Marcel {rows[-1]['fair']:.3f}", flush=True)
        backtests[stat] = rows
    return backtests


def mean_and_standard_error(values) -> tuple[float, float]:
    values = np.asarray(values, float)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def backtest_summary(rows: list[dict]) -> dict:
    """Per stat: the mean over the seasons (2015-2024 in a full run) of the fair and plain
    ratios with their standard errors (seasons as the units), 2024 beside them, and the
    short-history players' ratios pooled over every season."""
    fair, fair_se = mean_and_standard_error([row["fair"] for row in rows])
    plain, plain_se = mean_and_standard_error([row["plain"] for row in rows])
    last = rows[-1]
    short_errors = {
        name: sum(row[f"short_history_{name}_abs_error"] for row in rows)
        for name in ("ensemble", "fair_marcel", "plain_marcel")
    }
    return {
        "seasons": [row["season"] for row in rows],
        "fair_mean": fair,
        "fair_standard_error": fair_se,
        "fair_last": last["fair"],
        "plain_mean": plain,
        "plain_standard_error": plain_se,
        "plain_last": last["plain"],
        "last_season": last["season"],
        "short_history_n": sum(row["short_history_n"] for row in rows),
        "short_history_fair": short_errors["ensemble"] / short_errors["fair_marcel"]
        if short_errors["fair_marcel"]
        else float("nan"),
        "short_history_plain": short_errors["ensemble"] / short_errors["plain_marcel"]
        if short_errors["plain_marcel"]
        else float("nan"),
    }


def pooled_log_loss(results, name: str, only_simulated: bool = False) -> tuple[float, int]:
    terms = []
    for result in results:
        if only_simulated and not result.simulated:
            continue
        evaluation = result.evaluation
        went_over, settled = metrics.outcomes(evaluation.actual, evaluation.line)
        prediction = evaluation.predictions[name]
        p = metrics.conditional_p_over(prediction.p_over, prediction.p_under)
        terms.append(metrics.log_loss_terms(p[settled], went_over[settled]))
    pooled = np.concatenate(terms)
    return float(pooled.mean()), len(pooled)


def member_log_loss_terms(result) -> dict[str, np.ndarray]:
    """Log loss per settled test prop of the XGBoost and torch members and the ensemble."""
    evaluation = result.evaluation
    went_over, settled = metrics.outcomes(evaluation.actual, evaluation.line)
    terms = {}
    for name in ("xgboost", "torch", "ensemble"):
        prediction = evaluation.predictions[name]
        p = metrics.conditional_p_over(prediction.p_over, prediction.p_under)
        terms[name] = metrics.log_loss_terms(p[settled], went_over[settled])
    return terms


def ensemble_against_members(results) -> dict[str, dict]:
    """Per sport and over all ("all"): the ensemble's log loss over the better member's (the
    member picked per sport/stat on the test itself, an oracle choice) with its bound, 1 + one
    standard error of the paired per-prop difference over the better member's loss, and the
    ensemble's log loss over the mean of its two members' (``members_mean_ratio`` < 1: it beats
    the members' mean), with that difference's standard error."""
    groups: dict[str, dict[str, list]] = {}
    for result in results:
        terms = member_log_loss_terms(result)
        best = min((terms["xgboost"], terms["torch"]), key=np.mean)
        members_mean = 0.5 * (terms["xgboost"] + terms["torch"])
        for group in ("all", result.sport):
            pooled = groups.setdefault(group, {"ensemble": [], "best": [], "members_mean": []})
            pooled["ensemble"].append(terms["ensemble"])
            pooled["best"].append(best)
            pooled["members_mean"].append(members_mean)
    report = {}
    for group, pooled in groups.items():
        ensemble, best, members_mean = (np.concatenate(pooled[key]) for key in ("ensemble", "best", "members_mean"))
        root_n = np.sqrt(len(ensemble))
        best_se = float((ensemble - best).std(ddof=1) / root_n)
        mean_se = float((ensemble - members_mean).std(ddof=1) / root_n)
        report[group] = {
            "n_props": len(ensemble),
            "best_member_ratio": float(ensemble.mean() / best.mean()),
            "best_member_bound": 1.0 + best_se / float(best.mean()),
            "best_member_difference_nats": float((ensemble - best).mean()),
            "best_member_difference_standard_error_nats": best_se,
            "members_mean_ratio": float(ensemble.mean() / members_mean.mean()),
            "members_mean_difference_nats": float((ensemble - members_mean).mean()),
            "members_mean_difference_standard_error_nats": mean_se,
        }
    return report


def best_member_difference(results) -> dict:
    """Mean and standard error of (ensemble - better member) log loss per settled test prop,
    the better member chosen per sport/stat on the test period as in the headline ratio.

    It splits that difference into two totals (nats, summed over props): what the ensemble
    gains over the mean of its two members' losses, and what picking the better member on the
    test itself gains over that same mean (half the gap between the members, summed per
    sport/stat). The pick profits from the test's noise: were both members equally good in
    expectation, it would still gain sum_k sd(D_k) / sqrt(2 pi) in expectation, where D_k is
    the sport/stat's total loss difference between the members (``expected_pick_gain_nats``,
    the half-normal mean of |D_k| / 2). An ensemble gain above that is a real gain over both
    members; the headline ratio still reads the realized pick."""
    differences = []
    ensemble_gain = pick_gain = expected_pick_gain = 0.0
    for result in results:
        terms = member_log_loss_terms(result)
        xgboost, torch, ensemble = terms["xgboost"], terms["torch"], terms["ensemble"]
        best = min((xgboost, torch), key=np.mean)
        differences.append(ensemble - best)
        members_mean = 0.5 * (xgboost.sum() + torch.sum())
        ensemble_gain += members_mean - ensemble.sum()
        pick_gain += members_mean - best.sum()
        if len(xgboost) > 1:
            gap = xgboost - torch
            expected_pick_gain += 0.5 * gap.std(ddof=1) * np.sqrt(len(gap)) * np.sqrt(2.0 / np.pi)
    pooled = np.concatenate(differences)
    return {
        "mean_difference_nats": float(pooled.mean()),
        "standard_error_nats": float(pooled.std(ddof=1) / np.sqrt(len(pooled))),
        "n_props": len(pooled),
        "ensemble_gain_over_members_mean_nats": float(ensemble_gain),
        "pick_gain_over_members_mean_nats": float(pick_gain),
        "expected_pick_gain_if_members_equal_nats": float(expected_pick_gain),
    }


def pooled_ece(results, name: str, simulated: bool | None = None) -> float:
    """ECE pooled over the results (``simulated``: only simulated / only MLB; None: all)."""
    probabilities, outcomes = [], []
    for result in results:
        if simulated is not None and result.simulated != simulated:
            continue
        evaluation = result.evaluation
        went_over, settled = metrics.outcomes(evaluation.actual, evaluation.line)
        prediction = evaluation.predictions[name]
        probabilities.append(metrics.conditional_p_over(prediction.p_over, prediction.p_under)[settled])
        outcomes.append(went_over[settled])
    return 100 * metrics.ece(np.concatenate(probabilities), np.concatenate(outcomes))


def edge_betting(results, *, predictor: str, simulated: bool) -> dict:
    """Flat 1-unit bets on ``predictor``'s better side of each test prop, pooled over the
    simulated sports or over MLB: per threshold of EDGE_THRESHOLDS, the bets with edge >= it,
    their share of all test props, mean edge and realized ROI; and the realized ROI of betting
    both sides of every prop."""
    edges, profits, both_sides = [], [], []
    for result in results:
        if result.simulated != simulated:
            continue
        evaluation = result.evaluation
        over_odds, under_odds = evaluation.over_decimal_odds, evaluation.under_decimal_odds
        prediction = evaluation.predictions[predictor]
        edge, bet_over = metrics.best_side_edges(prediction.p_over, prediction.p_under, over_odds, under_odds)
        edges.append(edge)
        profits.append(metrics.flat_stake_profit(bet_over, over_odds, under_odds, evaluation.actual, evaluation.line))
        for side in (True, False):
            both_sides.append(
                metrics.flat_stake_profit(
                    np.full(len(edge), side), over_odds, under_odds, evaluation.actual, evaluation.line
                )
            )
    edge, profit = np.concatenate(edges), np.concatenate(profits)
    rows = []
    for threshold in EDGE_THRESHOLDS:
        chosen = edge >= threshold - 1e-12
        roi = metrics.flat_stake_roi(profit[chosen])
        low, high = roi.interval95
        rows.append(
            {
                "min_edge_pct": round(100 * threshold, 1),
                "n_bets": roi.n_bets,
                "n_pushes": roi.n_pushes,
                "share_pct": round(100 * roi.n_bets / len(edge), 2),
                "mean_edge_pct": round(100 * float(edge[chosen].mean()), 2) if roi.n_bets else None,
                "roi_pct": round(100 * roi.roi, 2) if roi.n_bets else None,
                "roi_standard_error_pct": round(100 * roi.standard_error, 2) if roi.n_bets > 1 else None,
                "roi_95_pct": [round(100 * low, 2), round(100 * high, 2)] if roi.n_bets > 1 else None,
            }
        )
    return {
        "predictor": predictor,
        "props": "simulated" if simulated else "mlb",
        "n_props": len(edge),
        "both_sides_roi_pct": round(100 * metrics.flat_stake_roi(np.concatenate(both_sides)).roi, 2),
        "by_threshold": rows,
    }


def betting_metrics(table: dict, prefix: str, thresholds: tuple[float, ...]) -> list[dict]:
    """ROI and share metrics (no target) of an edge_betting table at the given thresholds."""
    by_threshold = {row["min_edge_pct"]: row for row in table["by_threshold"]}
    report = []
    for threshold in thresholds:
        row = by_threshold[round(100 * threshold, 1)]
        tag = f"edge{round(100 * threshold)}"
        report.append(
            metric(
                f"{prefix}_roi_{tag}_pct",
                row["roi_pct"] if row["roi_pct"] is not None else float("nan"),
                "%",
                "higher",
                None,
                f"{prefix}_both_sides_roi_pct",
                table["both_sides_roi_pct"],
            )
        )
        report.append(
            metric(
                f"{prefix}_share_{tag}_pct", row["share_pct"], "%", None, None, f"{prefix}_bets_{tag}", row["n_bets"]
            )
        )
    return report


def metric(name, value, unit, better, target, baseline_name, baseline_value, *, digits: int = 4) -> dict:
    return {
        "name": name,
        "value": round(float(value), digits),
        "unit": unit,
        "better": better,
        "target": target,
        "baseline": {"name": baseline_name, "value": round(float(baseline_value), digits)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data and models (under a minute)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    datasets = build_demo_datasets(seed=args.seed, quick=args.quick)
    build_seconds = time.perf_counter() - started
    config = quick_train_config() if args.quick else TrainConfig()
    started = time.perf_counter()
    results = train_all(datasets, seed=args.seed, config=config)
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    # --quick: the last two backtest seasons only (a smoke run of the same code, under a minute).
    seasons = BACKTEST_SEASONS[-2:] if args.quick else BACKTEST_SEASONS
    backtests = mlb_backtests(datasets, seed=args.seed, config=config, seasons=seasons)
    backtest_seconds = time.perf_counter() - started

    by_stat = {(r.sport, r.stat): r for r in results}
    datasets_by_stat = {(d.sport, d.stat): d for d in datasets}
    for stat, rows in backtests.items():
        rows.append(mae_ratios(by_stat[("mlb", stat)], datasets_by_stat[("mlb", stat)]))
    summaries = {stat: backtest_summary(rows) for stat, rows in backtests.items()}
    ensemble_sim, n_sim = pooled_log_loss(results, "ensemble", only_simulated=True)
    oracle_sim, _ = pooled_log_loss(results, "oracle", only_simulated=True)
    book_sim, _ = pooled_log_loss(results, "book", only_simulated=True)
    _, n_all = pooled_log_loss(results, "ensemble")
    against_members = ensemble_against_members(results)
    overall = against_members["all"]
    report = [
        {
            **metric(
                f"mlb_{STAT_TAGS[stat]}_mae_vs_fair_marcel",
                summary["fair_mean"],
                "ratio",
                "lower",
                FAIR_MARCEL_TARGETS.get(stat),
                f"mlb_{STAT_TAGS[stat]}_mae_vs_plain_marcel",
                summary["plain_mean"],
            ),
            "standard_error": round(summary["fair_standard_error"], 4),
            "seasons": summary["seasons"],
            f"season_{summary['last_season']}": round(summary["fair_last"], 4),
            "baseline_standard_error": round(summary["plain_standard_error"], 4),
            f"baseline_season_{summary['last_season']}": round(summary["plain_last"], 4),
        }
        for stat, summary in summaries.items()
    ]
    report += [
        metric(
            "sim_logloss_vs_oracle", ensemble_sim / oracle_sim, "ratio", "lower", 1.02, "oracle_logloss", oracle_sim
        ),
        metric(
            "ece_pct", pooled_ece(results, "ensemble"), "%", "lower", 2.0, "book_ece_pct", pooled_ece(results, "book")
        ),
        metric(
            "ece_sim_pct",
            pooled_ece(results, "ensemble", simulated=True),
            "%",
            "lower",
            2.0,
            "book_ece_sim_pct",
            pooled_ece(results, "book", simulated=True),
        ),
        metric(
            "ece_mlb_pct",
            pooled_ece(results, "ensemble", simulated=False),
            "%",
            "lower",
            2.0,
            "book_ece_mlb_pct",
            pooled_ece(results, "book", simulated=False),
        ),
        metric(
            "ensemble_vs_best_member_logloss",
            overall["best_member_ratio"],
            "ratio",
            "lower",
            round(overall["best_member_bound"], 6),
            "ensemble_vs_members_mean_logloss",
            overall["members_mean_ratio"],
            digits=6,
        ),
        metric(
            "ensemble_vs_members_mean_logloss",
            overall["members_mean_ratio"],
            "ratio",
            "lower",
            1.0,
            "members_mean_difference_standard_error_nats",
            overall["members_mean_difference_standard_error_nats"],
            digits=6,
        ),
        metric("train_all_s", train_seconds, "s", "lower", 600, "dataset_build_s", build_seconds),
    ]
    betting = [
        edge_betting(results, predictor="ensemble", simulated=True),
        edge_betting(results, predictor="oracle", simulated=True),
        edge_betting(results, predictor="ensemble", simulated=False),
    ]
    for table, prefix, thresholds in zip(
        betting, ("sim", "oracle", "mlb"), ((0.0, 0.05), (0.0, 0.05), (0.05,)), strict=True
    ):
        report += betting_metrics(table, prefix, thresholds)
    print(
        f"quality bench ({'quick' if args.quick else 'full'}), {len(results)} models, "
        f"{n_all} settled test props ({n_sim} simulated)"
    )
    print(f"{'metric':34} {'value':>10} {'target':>8}  baseline")
    for row in report:
        print(
            f"{row['name']:34} {row['value']:>10.4f} {str(row['target']):>8}  "
            f"{row['baseline']['name']}={row['baseline']['value']:.4f}"
        )
    print(f"{'(info) sim book logloss / oracle':34} {book_sim / oracle_sim:>10.4f}")
    print(
        f"\n{'sport':5} {'stat':16} {'ens ll':>7} {'xgb ll':>7} {'mlp ll':>7} {'book ll':>7} {'base ll':>7} "
        f"{'ens ECE':>7} {'ens MAE':>8} {'base MAE':>8} {'w_xgb':>5} {'secs':>5}"
    )
    for r in results:
        base = "oracle" if r.simulated else "fair_marcel"
        m = r.metrics
        print(
            f"{r.sport:5} {r.stat:16} {m['ensemble']['log_loss']:7.4f} {m['xgboost']['log_loss']:7.4f} "
            f"{m['torch']['log_loss']:7.4f} {m['book']['log_loss']:7.4f} {m[base]['log_loss']:7.4f} "
            f"{100 * m['ensemble']['ece']:6.2f}% {m['ensemble']['mae']:8.3f} {m[base]['mae']:8.3f} "
            f"{r.ensemble_weights['xgboost']:5.2f} {r.train_seconds:5.1f}"
        )

    print(
        f"\nMLB ensemble MAE / Marcel MAE, players with three seasons of history; mean over the rolling-origin "
        f"seasons {summaries['home_runs']['seasons'][0]}-{summaries['home_runs']['last_season']} "
        f"(each predicted by models trained only on earlier seasons; {backtest_seconds:.0f} s) +- standard error"
    )
    print(
        f"{'stat':12} {'vs fair Marcel':>16} {'last':>6} {'vs plain Marcel':>16} {'last':>6}  "
        "short history (n): vs fair / plain"
    )
    for stat, summary in summaries.items():
        print(
            f"{stat:12} {summary['fair_mean']:>8.3f} +- {summary['fair_standard_error']:.3f} "
            f"{summary['fair_last']:>6.3f} {summary['plain_mean']:>8.3f} +- {summary['plain_standard_error']:.3f} "
            f"{summary['plain_last']:>6.3f}  ({summary['short_history_n']}) "
            f"{summary['short_history_fair']:.3f} / {summary['short_history_plain']:.3f}"
        )
    for stat, rows in backtests.items():
        cells = " ".join(f"{row['season']}:{row['fair']:.3f}({row['plain']:.3f})" for row in rows)
        print(f"  {stat:12} fair(plain) {cells}")
    print(
        f"\n{'ensemble log loss':17} {'props':>6} {'/ better member':>15} {'bound':>8} {'met':>4} "
        f"{'/ members mean':>15} {'beats':>5}"
    )
    for group, row in against_members.items():
        print(
            f"{group:17} {row['n_props']:>6} {row['best_member_ratio']:>15.6f} {row['best_member_bound']:>8.6f} "
            f"{'yes' if row['best_member_ratio'] <= row['best_member_bound'] else 'no':>4} "
            f"{row['members_mean_ratio']:>15.6f} {'yes' if row['members_mean_ratio'] < 1 else 'no':>5}"
        )
    print("\nflat 1-unit bets on the better side at the book's prices (ROI: mean profit per bet, 95 % interval)")
    print(
        f"{'predictor':9} {'props':9} {'edge >=':>7} {'bets':>6} {'share':>7} {'mean edge':>9} {'ROI':>8}"
        "  95 % interval"
    )
    for table in betting:
        for row in table["by_threshold"]:
            roi = "—" if row["roi_pct"] is None else f"{row['roi_pct']:+.2f}%"
            interval = (
                "—" if row["roi_95_pct"] is None else f"[{row['roi_95_pct'][0]:+.2f}, {row['roi_95_pct'][1]:+.2f}]"
            )
            mean_edge = "—" if row["mean_edge_pct"] is None else f"{row['mean_edge_pct']:.2f}%"
            print(
                f"{table['predictor']:9} {table['props']:9} {row['min_edge_pct']:>6.0f}% {row['n_bets']:>6} "
                f"{row['share_pct']:>6.2f}% {mean_edge:>9} {roi:>8}  {interval}"
            )
        print(
            f"{'':9} {table['props']:9} both sides of all {table['n_props']} props: "
            f"ROI {table['both_sides_roi_pct']:+.2f}%"
        )
    difference = best_member_difference(results)
    print(
        f"ensemble - better member: {difference['mean_difference_nats']:+.2e} nats per prop "
        f"(standard error {difference['standard_error_nats']:.1e}, {difference['n_props']} props); "
        f"totals over the members' mean loss: ensemble {difference['ensemble_gain_over_members_mean_nats']:.1f} "
        f"nats better, the member picked on the test {difference['pick_gain_over_members_mean_nats']:.1f} "
        f"(a pick between equal members would gain {difference['expected_pick_gain_if_members_equal_nats']:.1f})"
    )

    document = {
        "bench": "quality",
        "machine": machine(),
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "metrics": report,
        "notes": {
            "mae_point_forecast": (
                "models and ensemble: the predictive median (the MAE-optimal point of a distribution); "
                "Marcel and the recent average: their point projection; the book: its line"
            ),
            "mlb_fair_marcel": {
                stat: {key: round(value, 4) if isinstance(value, float) else value for key, value in summary.items()}
                for stat, summary in summaries.items()
            },
            "mlb_fair_marcel_note": (
                "ensemble (its predictive median) MAE over Marcel's on qualified seasons (300 PA / 250 BF) of players "
                "who played in each of the three seasons before; fair Marcel = Marcel's rate x a qualified player's "
                "playing time, max(Marcel's, 0.9 x last season's, 450 PA / 400 BF) (engine.marcel.fair_marcel_count), "
                "plain Marcel = Marcel as published; means and standard errors over the test seasons; short_history: "
                "the other qualified players, pooled over the seasons"
            ),
            "ensemble_against_members": against_members,
            "mlb_backtests": {
                stat: [
                    {key: round(value, 4) if isinstance(value, float) else value for key, value in row.items()}
                    for row in rows
                ]
                for stat, rows in backtests.items()
            },
            "mlb_backtest_note": (
                "each season is the test season of models trained only on earlier seasons (the one before "
                "for validation); the last row of each list is the held-out 2024 season of the headline metric; "
                "2020 (60 games) has no 300-PA season and is only a lag season"
            ),
            "ensemble_vs_best_member": difference,
            "edge_betting": betting,
            "edge_betting_note": (
                "each test prop is a candidate flat 1-unit bet on the predictor's better side at the book's "
                "decimal odds, edge = P(side | no push) x odds - 1 as the product shows it; a bet wins odds - 1, "
                "loses 1, a push refunds it (profit 0, counted as a bet); roi_pct is the realized mean profit per "
                "bet, its standard error and 95 % interval treat bets as independent; share_pct is of all test "
                "props of the group; both_sides_roi_pct is betting over and under on every prop (minus the margin)"
            ),
        },
        "per_model": [
            {
                "sport": r.sport,
                "stat": r.stat,
                "metrics": r.metrics,
                "ensemble_weights": r.ensemble_weights,
                "line_temperatures": r.line_temperatures,
                "train_seconds": round(r.train_seconds, 2),
            }
            for r in results
        ],
    }
    results = results_path("quality", full=not args.quick)
    results.write_text(json.dumps(document, indent=2, default=float) + "\n")
    print(f"\nwrote {results}")


if __name__ == "__main__":
    main()
