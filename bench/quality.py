"""Model quality of the predictions engine on the demo data (no Django).

Trains every default model (each catalogue sport/stat: XGBoost + PyTorch + ensemble) on the
demo data, times it, and scores the held-out test periods:

- mlb_hr_mae_vs_marcel, mlb_h_mae_vs_marcel: ensemble MAE / Marcel MAE for home runs and
  hits in the held-out 2024 season, players with >= 300 PA (target <= 0.95).
- sim_logloss_vs_oracle: ensemble log loss / oracle log loss at the book line, pooled over
  every simulated test prop (target <= 1.02).
- ece_pct: expected calibration error of the ensemble's P(over), pooled over all test props,
  in percent (target <= 2).
- ece_sim_pct, ece_mlb_pct: the same ECE on simulated props only and on MLB season props only
  (about 1,100 props, so its 10-bin ECE carries several points of sampling noise).
- ensemble_vs_best_member_logloss: ensemble log loss / the log loss of the better member of
  each sport/stat, pooled over all test props (target <= 1.0).
- train_all_s: wall time to train all default models (target 600 s).

Usage: .venv/bin/python bench/quality.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine  # noqa: E402
from predictions.engine import metrics  # noqa: E402
from predictions.engine.training import (  # noqa: E402
    TrainConfig,
    build_demo_datasets,
    quick_train_config,
    train_all,
)

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"


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


def pooled_best_member_log_loss(results) -> float:
    terms = []
    for result in results:
        evaluation = result.evaluation
        went_over, settled = metrics.outcomes(evaluation.actual, evaluation.line)
        member_terms = []
        for name in ("xgboost", "torch"):
            prediction = evaluation.predictions[name]
            p = metrics.conditional_p_over(prediction.p_over, prediction.p_under)
            member_terms.append(metrics.log_loss_terms(p[settled], went_over[settled]))
        terms.append(min(member_terms, key=np.mean))
    return float(np.concatenate(terms).mean())


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


def metric(name, value, unit, better, target, baseline_name, baseline_value) -> dict:
    return {
        "name": name,
        "value": round(float(value), 4),
        "unit": unit,
        "better": better,
        "target": target,
        "baseline": {"name": baseline_name, "value": round(float(baseline_value), 4)},
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

    by_stat = {(r.sport, r.stat): r for r in results}
    hr, hits = by_stat[("mlb", "home_runs")], by_stat[("mlb", "hits")]
    ensemble_sim, n_sim = pooled_log_loss(results, "ensemble", only_simulated=True)
    oracle_sim, _ = pooled_log_loss(results, "oracle", only_simulated=True)
    book_sim, _ = pooled_log_loss(results, "book", only_simulated=True)
    ensemble_all, n_all = pooled_log_loss(results, "ensemble")
    best_member = pooled_best_member_log_loss(results)
    report = [
        metric(
            "mlb_hr_mae_vs_marcel",
            hr.metrics["ensemble"]["mae"] / hr.metrics["marcel"]["mae"],
            "ratio",
            "lower",
            0.95,
            "marcel_hr_mae",
            hr.metrics["marcel"]["mae"],
        ),
        metric(
            "mlb_h_mae_vs_marcel",
            hits.metrics["ensemble"]["mae"] / hits.metrics["marcel"]["mae"],
            "ratio",
            "lower",
            0.95,
            "marcel_h_mae",
            hits.metrics["marcel"]["mae"],
        ),
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
            ensemble_all / best_member,
            "ratio",
            "lower",
            1.0,
            "best_member_logloss",
            best_member,
        ),
        metric("train_all_s", train_seconds, "s", "lower", 600, "dataset_build_s", build_seconds),
    ]
    print(
        f"quality bench ({'quick' if args.quick else 'full'}), {len(results)} models, "
        f"{n_all} settled test props ({n_sim} simulated)"
    )
    print(f"{'metric':34} {'value':>10} {'target':>8}  baseline")
    for row in report:
        print(
            f"{row['name']:34} {row['value']:>10.4f} {row['target']:>8}  "
            f"{row['baseline']['name']}={row['baseline']['value']:.4f}"
        )
    print(f"{'(info) sim book logloss / oracle':34} {book_sim / oracle_sim:>10.4f}")
    print(
        f"\n{'sport':5} {'stat':16} {'ens ll':>7} {'xgb ll':>7} {'mlp ll':>7} {'book ll':>7} {'base ll':>7} "
        f"{'ens ECE':>7} {'ens MAE':>8} {'base MAE':>8} {'w_xgb':>5} {'secs':>5}"
    )
    for r in results:
        base = "oracle" if r.simulated else "marcel"
        m = r.metrics
        print(
            f"{r.sport:5} {r.stat:16} {m['ensemble']['log_loss']:7.4f} {m['xgboost']['log_loss']:7.4f} "
            f"{m['torch']['log_loss']:7.4f} {m['book']['log_loss']:7.4f} {m[base]['log_loss']:7.4f} "
            f"{100 * m['ensemble']['ece']:6.2f}% {m['ensemble']['mae']:8.3f} {m[base]['mae']:8.3f} "
            f"{r.ensemble_weights['xgboost']:5.2f} {r.train_seconds:5.1f}"
        )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "bench": "quality",
        "machine": machine(),
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "metrics": report,
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
    RESULTS.write_text(json.dumps(document, indent=2, default=float) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
