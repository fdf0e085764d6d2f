"""Explanations: speed, exactness and fidelity, with the raw library calls in the same run.

Set-up (a scratch folder, embedded mode: SQLite, local-memory caches): the NBA demo data
(``--quick``: the small league), an NBA points ensemble trained with 300 XGBoost trees
(early stopping off; ``--quick``: the smoke-test sizes) and the default MLP, registered in
production, its background sample stored from its training rows (the "at training" path),
and the demo's last day of book props scored by ``slate_predict``.

Metrics (one thread per process, FACTS.md):

- ``inproc_ensemble_standard_ms``: one prediction's fresh ``standard`` explanation in process:
  TreeSHAP of the XGBoost member, DeepExplainer of the network, the ensemble's mean and
  P(over) attributions, and the payload with reasons (median over rows). Baseline
  ``raw_single_ms``: the two raw library calls on the same row (``Booster.predict(...,
  pred_contribs=True)`` on a new DMatrix and ``DeepExplainer.shap_values``);
  ``fresh_vs_raw`` is the median over interleaved pairs of their ratio. ``batch1k_vs_raw``:
  the same for 1,000 rows at once (five interleaved pairs).
- ``tree_pred_contribs_ms`` vs ``tree_explainer_ms``: XGBoost's own TreeSHAP against
  ``shap.TreeExplainer`` for one row, and ``tree_values_max_diff`` between them (the engine
  uses whichever is faster with equal values: pred_contribs).
- ``http_fresh_p50_ms`` / ``http_cached_p50_ms``: ``GET /api/predictions/{id}/explanation/``
  (standard) on one uvicorn process with a token: each prediction's first request (nothing
  cached), then the same requests again. ``http_detailed_p50_ms``: ``?level=detailed`` (the
  tree member's interactions, percentiles, stability under two resampled backgrounds), fresh.
- ``additivity_max_err``: max |base + sum(values) - output| of the tree member in its
  margin (log mean) over the sample; the network's (log mean) and the ensemble's (predicted
  mean, stat units) are reported beside it.
- ``pover_fidelity_rank_corr``: Spearman rank correlation, pooled over (row, feature), of our
  P(over) attributions with ``shap.KernelExplainer`` values of the full P(over) function (the
  served price at the row's line and odds) with the version's background rows as background
  (``pover_fidelity_row_corr``: the mean per-row correlation).
- ``quality_p10`` / ``p50`` / ``p90``: the distribution of the quality score over the slate.
- ``slate_precompute_s``: the job that activation starts: ``fast`` explanations of every
  prediction of the day (run in process, as the embedded mode's eager worker runs it).
- ``cache_hit_rate_pct``: a replayed day: after the precompute, 20 requests per prediction of
  the day, drawn (seed 0) with Zipf popularity (the k-th most popular prop weighted 1/k^1.1:
  a few props draw most views), 80 % ``fast`` (lists and cards) and 20 % ``standard`` (detail
  pages); the share answered from the cache.

    .venv/bin/python bench/explain.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, percentile, results_path  # noqa: E402
from bench.predict import BENCH_AS_OF, setup_environment, start_server  # noqa: E402


def median_ms(values) -> float:
    return percentile(values, 0.5) * 1e3


def prepare(quick: bool) -> dict:
    import logging

    import django

    django.setup()
    # shap logs every KernelExplainer step at INFO.
    logging.getLogger("shap").setLevel(logging.WARNING)
    import numpy as np
    from django.core.management import call_command
    from django.db.models import Max

    from a1site.registry.models import ModelVersion
    from a1site.registry.services import model_version_activate
    from explanations import services as explanation_services
    from predictions import services
    from predictions.engine.models import XGBoostConfig
    from predictions.engine.training import TrainConfig, quick_train_config, train_stat
    from predictions.models import Prediction, PropLine

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command(
        "load_demo",
        "--no-progress",
        "--as-of",
        BENCH_AS_OF,
        "--sport",
        "nba",
        *(["--small"] if quick else []),
        verbosity=0,
    )
    print(f"demo data loaded in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    dataset = services.dataset_build(sport="nba", stat="points")
    config = (
        quick_train_config()
        if quick
        else TrainConfig(xgboost=XGBoostConfig(n_estimators=300, early_stopping_rounds=10_000))
    )
    result = train_stat(dataset, seed=0, config=config)
    services.model_versions_register(result=result, user=None)
    version = ModelVersion.objects.filter(name="nba.points.ensemble").order_by("-version").first()
    if version.status != ModelVersion.Status.PRODUCTION:
        model_version_activate(version_id=version.pk, reason="bench")
    last_train_day = np.datetime64(version.training_data_end) if version.training_data_end else None
    train_rows = dataset.X if last_train_day is None else dataset.X[np.asarray(dataset.dates) <= last_train_day]
    explanation_services.background_sample_store(version=version, rows=train_rows)
    print(f"model trained, background stored in {time.perf_counter() - started:.1f} s", flush=True)
    day = PropLine.objects.filter(game__sport__code="nba", stat="points").aggregate(last=Max("game__date"))["last"]
    services.slate_predict(sport="nba", date=day, include_shadows=False)
    ids = list(
        Prediction.objects.filter(game__date=day, stat="points", model_version=version, shadow=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
    print(f"slate of {day}: {len(ids)} points predictions", flush=True)
    return {"version": version, "day": day, "ids": ids, "X": dataset.X}


def bench_inproc(state: dict, quick: bool) -> dict:
    import numpy as np
    import shap
    import torch
    import xgboost as xgb
    from scipy import stats

    from explanations.engine import quality
    from explanations.services import explainer_for_version

    torch.set_num_threads(1)
    version = state["version"]
    explainer = explainer_for_version(version_id=version.pk).explainer
    tree_member, deep_member = explainer.members
    booster = tree_member.booster
    names = list(explainer.names)
    rng = np.random.default_rng(0)
    X = state["X"][rng.choice(len(state["X"]), size=min(1000, len(state["X"])), replace=False)]
    lines = np.floor(np.nan_to_num(X[:, 0], nan=5.0)) + 0.5
    anchors = np.linspace(0.42, 0.58, len(X))
    network = deep_member.member

    def raw(rows):
        booster.predict(xgb.DMatrix(rows, feature_names=names, nthread=1), pred_contribs=True)
        deep_member.deep.shap_values(torch.from_numpy(network._standardise(rows)), check_additivity=False)

    def ours(rows, row_lines, row_anchors):
        batch = explainer.explain(rows, row_lines, row_anchors)
        if len(rows) == 1:
            explainer.payload(batch, 0, level="standard", sport="nba", stat="points")
        return batch

    repeats = 60 if quick else 400
    for index in range(20):
        raw(X[index : index + 1])
        ours(X[index : index + 1], lines[index : index + 1], anchors[index : index + 1])
    raw_times, our_times = [], []
    for repeat in range(repeats):
        index = repeat % len(X)
        row = X[index : index + 1]
        started = time.perf_counter()
        raw(row)
        raw_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        ours(row, lines[index : index + 1], anchors[index : index + 1])
        our_times.append(time.perf_counter() - started)

    tree_explainer = shap.TreeExplainer(booster)
    contribs_times, tree_times, diffs = [], [], []
    for index in range(50 if quick else 200):
        row = X[index : index + 1]
        started = time.perf_counter()
        contribs = booster.predict(xgb.DMatrix(row, feature_names=names, nthread=1), pred_contribs=True)
        contribs_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        values = tree_explainer.shap_values(row)
        tree_times.append(time.perf_counter() - started)
        diffs.append(float(np.abs(values - contribs[:, :-1]).max()))

    n_batch = 200 if quick else 1000
    Xb, lb, ab = X[:n_batch], lines[:n_batch], anchors[:n_batch]
    raw_batch, our_batch = [], []
    for _ in range(2 if quick else 5):
        started = time.perf_counter()
        raw(Xb)
        raw_batch.append(time.perf_counter() - started)
        started = time.perf_counter()
        batch = ours(Xb, lb, ab)
        our_batch.append(time.perf_counter() - started)
    tree_values, network_values = batch.members

    # Fidelity of the P(over) attribution against model-agnostic Shapley values.
    n_fidelity = 30 if quick else 200
    background = explainer.background[:50]
    ours_p, kernel_p, row_corr = [], [], []
    for index in range(n_fidelity):
        row = X[index : index + 1]

        def price(rows, index=index):
            return explainer.predict(rows, np.full(len(rows), lines[index]), np.full(len(rows), anchors[index]))[
                "p_over"
            ]

        kernel = shap.KernelExplainer(price, background)
        # l1_reg=False: no feature selection, which would zero small values and tie their ranks.
        theirs = kernel.shap_values(row, nsamples=600 if quick else 2048, silent=True, l1_reg=False)
        theirs = np.asarray(theirs).reshape(-1)
        mine = explainer.explain(row, lines[index : index + 1], anchors[index : index + 1]).p_over.values[0]
        ours_p.append(mine)
        kernel_p.append(theirs)
        row_corr.append(stats.spearmanr(mine, theirs).statistic)
    pooled = stats.spearmanr(np.concatenate(ours_p), np.concatenate(kernel_p)).statistic

    scores = quality.quality_score(
        additivity=quality.additivity_component(batch.mean.additivity_error, batch.mean.base, batch.mean.value),
        stability=np.full(len(Xb), explainer.stability),
        coverage_share=quality.coverage(batch.mean.values),
    )
    out = {
        "raw_single_ms": median_ms(raw_times),
        "inproc_ensemble_standard_ms": median_ms(our_times),
        # Median of each interleaved pair's ratio: a neighbour's burst hits both calls of a pair.
        "fresh_vs_raw": float(np.median(np.asarray(our_times) / np.asarray(raw_times))),
        "tree_pred_contribs_ms": median_ms(contribs_times),
        "tree_explainer_ms": median_ms(tree_times),
        "tree_values_max_diff": max(diffs),
        "raw_batch_s": min(raw_batch),
        "inproc_batch_s": min(our_batch),
        "batch_vs_raw": float(np.median(np.asarray(our_batch) / np.asarray(raw_batch))),
        "batch_rows": n_batch,
        "additivity_max_err": float(tree_values.additivity_error.max()),
        "network_additivity_max_err": float(network_values.additivity_error.max()),
        "ensemble_mean_additivity_max_err": float(batch.mean.additivity_error.max()),
        "pover_fidelity_rank_corr": float(pooled),
        "pover_fidelity_row_corr": float(np.nanmean(row_corr)),
        "fidelity_rows": n_fidelity,
        "quality_p10": float(np.percentile(scores, 10)),
        "quality_p50": float(np.percentile(scores, 50)),
        "quality_p90": float(np.percentile(scores, 90)),
        "trees": booster.num_boosted_rounds(),
        "stability": explainer.stability,
    }
    print(
        f"in process: raw {out['raw_single_ms']:.2f} ms, ours {out['inproc_ensemble_standard_ms']:.2f} ms; "
        f"{n_batch} rows raw {out['raw_batch_s']:.2f} s, ours {out['inproc_batch_s']:.2f} s; "
        f"pred_contribs {out['tree_pred_contribs_ms']:.2f} ms vs TreeExplainer {out['tree_explainer_ms']:.2f} ms; "
        f"fidelity {pooled:.3f} ({out['trees']} trees)",
        flush=True,
    )
    return out


def bench_slate_and_replay(state: dict) -> dict:
    import numpy as np
    from django.contrib.auth import get_user_model

    from a1site.jobs import services as job_services
    from explanations import services

    services.explanations_cache().clear()
    owner = get_user_model().objects.create_user("bench-slate", password="bench-password-123")
    job = job_services.job_create(
        kind="explanations.slate_precompute",
        owner=owner,
        params={"date": state["day"].isoformat(), "version_id": state["version"].pk},
    )
    started = time.perf_counter()
    services.slate_precompute_job_run(job_id=str(job.id))
    precompute_s = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != "succeeded":
        raise RuntimeError(f"slate precompute failed: {job.error}")
    ids = state["ids"]
    rng = np.random.default_rng(0)
    popularity = 1.0 / np.arange(1, len(ids) + 1) ** 1.1
    order = rng.permutation(len(ids))
    requests = rng.choice(order, size=20 * len(ids), p=popularity / popularity.sum())
    levels = np.where(rng.random(len(requests)) < 0.8, "fast", "standard")
    hits = 0
    for index, level in zip(requests.tolist(), levels.tolist(), strict=True):
        answer = services.explanation_get(prediction_id=ids[index], user=owner, level=level)
        hits += answer["cached"]
    rate = 100.0 * hits / len(requests)
    print(
        f"slate precompute: {job.result['explained']} predictions in {precompute_s:.2f} s; "
        f"replay of {len(requests)} requests: {rate:.1f} % from the cache",
        flush=True,
    )
    return {"slate_precompute_s": precompute_s, "slate_predictions": len(ids), "cache_hit_rate_pct": rate}


def bench_http(env: dict, scratch: Path, state: dict, quick: bool) -> dict:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    token = Token.objects.create(user=user).key
    headers = {"Authorization": f"Token {token}"}
    process, port = start_server(env, scratch)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

        def get(path: str) -> tuple[float, dict]:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}: {data[:300]!r}")
            return elapsed, json.loads(data)

        ids = state["ids"]
        n = min(len(ids) // 3, 60 if quick else 300)
        warm, fresh_ids, detailed_ids = ids[:10], ids[10 : 10 + n], ids[10 + n : 10 + n + min(n, 40 if quick else 100)]
        for pk in warm:  # loads the version and builds its explainer in the server
            get(f"/api/predictions/{pk}/explanation/")
        gc.disable()
        fresh, cached, detailed = [], [], []
        for pk in fresh_ids:
            elapsed, body = get(f"/api/predictions/{pk}/explanation/")
            assert body["cached"] is False
            fresh.append(elapsed)
        for pk in fresh_ids:
            elapsed, body = get(f"/api/predictions/{pk}/explanation/")
            assert body["cached"] is True
            cached.append(elapsed)
        for pk in detailed_ids:
            elapsed, body = get(f"/api/predictions/{pk}/explanation/?level=detailed")
            assert body["cached"] is False and body["interactions"]["pairs"]
            detailed.append(elapsed)
        gc.enable()
    finally:
        process.terminate()
        process.wait(timeout=30)
    out = {
        "http_fresh_p50_ms": median_ms(fresh),
        "http_fresh_p99_ms": percentile(fresh, 0.99) * 1e3,
        "http_cached_p50_ms": median_ms(cached),
        "http_detailed_p50_ms": median_ms(detailed),
        "http_requests": len(fresh),
    }
    print(
        f"http: fresh {out['http_fresh_p50_ms']:.1f} ms, cached {out['http_cached_p50_ms']:.2f} ms, "
        f"detailed {out['http_detailed_p50_ms']:.0f} ms (p50 of {len(fresh)})",
        flush=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small league, quick model, fewer repeats (< 1 min)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="a1-bench-explain-") as folder:
        scratch = Path(folder)
        env = setup_environment(scratch)
        state = prepare(args.quick)
        inproc = bench_inproc(state, args.quick)
        slate = bench_slate_and_replay(state)
        http = bench_http(env, scratch, state, args.quick)
    raw = {"name": "raw_single_ms", "value": inproc["raw_single_ms"]}
    metrics = [
        ("inproc_ensemble_standard_ms", inproc["inproc_ensemble_standard_ms"], "ms", "lower", 20, raw),
        ("fresh_vs_raw", inproc["fresh_vs_raw"], "ratio", "lower", 1.2, raw),
        (
            "batch1k_vs_raw",
            inproc["batch_vs_raw"],
            "ratio",
            "lower",
            1.2,
            {"name": f"raw_batch{inproc['batch_rows']}_s", "value": inproc["raw_batch_s"]},
        ),
        ("http_fresh_p50_ms", http["http_fresh_p50_ms"], "ms", "lower", 30, raw),
        ("http_fresh_p99_ms", http["http_fresh_p99_ms"], "ms", "lower", None, None),
        ("http_cached_p50_ms", http["http_cached_p50_ms"], "ms", "lower", 4, None),
        ("http_detailed_p50_ms", http["http_detailed_p50_ms"], "ms", "lower", 1000, None),
        ("additivity_max_err", inproc["additivity_max_err"], "log mean", "lower", 1e-4, None),
        ("network_additivity_max_err", inproc["network_additivity_max_err"], "log mean", "lower", None, None),
        ("ensemble_mean_additivity_max_err", inproc["ensemble_mean_additivity_max_err"], "points", "lower", None, None),
        ("pover_fidelity_rank_corr", inproc["pover_fidelity_rank_corr"], "spearman", "higher", 0.9, None),
        ("pover_fidelity_row_corr", inproc["pover_fidelity_row_corr"], "spearman", "higher", None, None),
        ("cache_hit_rate_pct", slate["cache_hit_rate_pct"], "%", "higher", 85, None),
        ("slate_precompute_s", slate["slate_precompute_s"], "s", "lower", 30, None),
        (
            "tree_pred_contribs_ms",
            inproc["tree_pred_contribs_ms"],
            "ms",
            "lower",
            None,
            {"name": "tree_explainer_ms", "value": inproc["tree_explainer_ms"]},
        ),
        ("tree_values_max_diff", inproc["tree_values_max_diff"], "log mean", "lower", None, None),
        ("quality_p10", inproc["quality_p10"], "score", "higher", None, None),
        ("quality_p50", inproc["quality_p50"], "score", "higher", None, None),
        ("quality_p90", inproc["quality_p90"], "score", "higher", None, None),
    ]
    rows = []
    print(f"\n{'metric':36} {'value':>12} {'target':>10}  met")
    for name, value, unit, better, target, baseline in metrics:
        entry = {"name": name, "value": float(f"{float(value):.6g}"), "unit": unit, "better": better}
        if target is not None:
            entry["target"] = target
            met = value <= target if better == "lower" else value >= target
            entry["met"] = bool(met)
        if baseline is not None:
            entry["baseline"] = {"name": baseline["name"], "value": float(f"{float(baseline['value']):.6g}")}
        rows.append(entry)
        print(f"{name:36} {value:12.5g} {'' if target is None else target:>10}  {entry.get('met', '')}")
    notes = {
        "trees": inproc["trees"],
        "batch_rows": inproc["batch_rows"],
        "fidelity_rows": inproc["fidelity_rows"],
        "slate_predictions": slate["slate_predictions"],
        "http_requests": http["http_requests"],
        "version_stability": inproc["stability"],
        "quick": args.quick,
    }
    path = results_path("explain", full=not args.quick)
    path.write_text(
        json.dumps(
            {
                "bench": "explain",
                "machine": machine(),
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "notes": notes,
                "metrics": rows,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
