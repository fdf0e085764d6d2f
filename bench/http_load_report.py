"""The metrics table of ``bench/http_load.py``: its phases' results as the rows of
``bench/results/http_load.json`` (format: docs/benchmarks.md), each with ``met`` where it has
a target; a target measured in an invalid run (the generator late) is not met."""

from __future__ import annotations

from bench import http_loadgen as gen

P99_TARGET_MS = 250
HEALTHZ_TARGET_MS = 50


def metric(name, value, unit, better, target=None, baseline=None, valid=True) -> dict:
    row = {"name": name, "value": value, "unit": unit, "better": better}
    if target is not None:
        row["target"] = target
        ok = value is not None and (value <= target if better == "lower" else value >= target)
        row["met"] = bool(ok and valid)
    if baseline is not None:
        row["baseline"] = {"name": baseline[0], "value": baseline[1]}
    return row


def metrics_from(emb: dict, svc: dict, users: int) -> list[dict]:
    rows = []
    if "props_page" in emb:
        base = ("plain_view_sequential_p50_ms", emb["props_page"]["plain"]["p50_ms"])
        rows.append(metric("props_page_p50_ms", emb["props_page"]["props"]["p50_ms"], "ms", "lower", 10, base))
    if "props_page" in svc:
        base = ("plain_view_sequential_p50_ms_services", svc["props_page"]["plain"]["p50_ms"])
        rows.append(
            metric("props_page_p50_ms_services", svc["props_page"]["props"]["p50_ms"], "ms", "lower", None, base)
        )
    if "open" in svc:
        load, probes, tag = svc["open"], svc["probes"], "10k" if users == 10_000 else f"{users}"
        valid = load["valid"]
        # The plain view for the same users over the same connections, just before (older runs lack it).
        base = svc.get("open_plain")
        rows += [
            metric(
                f"users_{tag}_p99_ms", load["p99_ms"], "ms", "lower", P99_TARGET_MS,
                (f"plain_view_{tag}_p99_ms", base["p99_ms"]) if base else None, valid,
            ),
            metric(f"users_{tag}_errors", load["errors"], "count", "lower", 0, None, valid),
            # Of those, refused at once (503: waited past A1_QUEUE_TIMEOUT_S) rather than timed out.
            metric(f"users_{tag}_shed_503", load.get("errors_by_cause", {}).get("503", 0), "count", "lower"),
            metric(
                "healthz_p99_ms_under_load", probes["/healthz"]["p99_ms"], "ms", "lower", HEALTHZ_TARGET_MS,
                ("readyz_via_django_p99_ms_under_load", probes["/readyz"]["p99_ms"]), valid,
            ),
            metric(f"users_{tag}_rps", load["rps"], "req/s", "higher", None, ("offered_rps", load["offered_rps"])),
            metric(f"users_{tag}_generator_late_p99_ms", load["late_p99_ms"], "ms", "lower", gen.LATE_LIMIT_MS),
        ]  # fmt: skip
        if base:
            rows += [
                metric(f"plain_view_{tag}_rps", base["rps"], "req/s", "higher", None, ("errors", base["errors"])),
                # CPU per answered request of the server, PostgreSQL and Redis together: what the
                # mix costs against a template view that reads nothing, for the same users.
                metric(
                    f"users_{tag}_cpu_ms_per_answer", load["cpu_ms_per_answer"]["all"], "ms", "lower", None,
                    (f"plain_view_{tag}_cpu_ms_per_answer", base["cpu_ms_per_answer"]["all"]),
                ),
            ]  # fmt: skip
    if "open" in emb:
        load, probes = emb["open"], emb["probes"]
        valid = load["valid"]
        closed = emb["closed"]
        rows += [
            metric(
                "embedded_200_users_p99_ms", load["p99_ms"], "ms", "lower", P99_TARGET_MS,
                ("embedded_200_back_to_back_p99_ms", closed["p99_ms"]), valid,
            ),
            metric("embedded_200_users_errors", load["errors"], "count", "lower", 0, None, valid),
            metric(
                "healthz_p99_ms_under_load_embedded", probes["/healthz"]["p99_ms"], "ms", "lower", HEALTHZ_TARGET_MS,
                ("readyz_via_django_p99_ms_under_load_embedded", probes["/readyz"]["p99_ms"]), valid,
            ),
            metric("embedded_200_back_to_back_rps", closed["rps"], "req/s", "higher"),
            metric("embedded_200_back_to_back_errors", closed["errors"], "count", "lower"),
        ]  # fmt: skip
        props, base = emb["props_50"], emb["plain_50"]
        rows += [
            metric(
                "healthz_p99_ms_under_props_load_embedded", emb["props_50_probes"]["/healthz"]["p99_ms"], "ms", "lower",
                HEALTHZ_TARGET_MS, ("readyz_via_django_p99_ms", emb["props_50_probes"]["/readyz"]["p99_ms"]),
            ),
            metric(
                "healthz_p99_ms_under_plain_load", emb["plain_50_probes"]["/healthz"]["p99_ms"], "ms",
                "lower", HEALTHZ_TARGET_MS, ("readyz_via_django_p99_ms", emb["plain_50_probes"]["/readyz"]["p99_ms"]),
            ),
            metric("props_rps_vs_plain", round(props["rps"] / base["rps"], 3), "ratio", "higher", None,
                   ("plain_view_rps", base["rps"])),
            metric("props_rps", props["rps"], "req/s", "higher"),
            metric("props_p99_ms", props["p99_ms"], "ms", "lower"),
            metric("props_errors", props["errors"], "count", "lower", 0),
        ]  # fmt: skip
    if "capacity" in svc:
        mix, base = svc["capacity"]["mix"]["best_rps"], svc["capacity"]["plain"]["best_rps"]
        rows += [
            metric(
                "capacity_vs_plain", round(mix / base, 3) if base else None, "ratio", "higher", 0.5,
                ("plain_view_capacity_rps", base),
            ),
            metric("capacity_mix_rps", mix, "req/s", "higher"),
        ]  # fmt: skip
    if "rss_start_mb" in svc:
        rows.append(
            metric("server_rss_mb_services", svc["rss_start_mb"], "MB", "lower", None, ("after", svc["rss_end_mb"]))
        )
    if "soak" in svc:
        soak_result = svc["soak"]
        rows += [
            metric("soak_rss_growth_pct", soak_result["growth_pct"], "%", "lower", 5,
                   ("rss_half_mb", soak_result["rss_half_mb"])),
            metric("soak_errors", soak_result["errors"], "count", "lower", 0),
            metric("soak_rps", soak_result["rps"], "req/s", "higher"),
        ]  # fmt: skip
    if "rss_start_mb" in emb:
        # The issue's target is for `make run`'s server (it measured 646 MB there): the embedded one.
        rows.append(metric("server_rss_mb", emb["rss_start_mb"], "MB", "lower", 600, ("after", emb["rss_end_mb"])))
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"\n{'metric':<40}{'value':>10}{'target':>8}  {'met':<5} baseline")
    for row in rows:
        base = row.get("baseline")
        met = "" if "met" not in row else ("yes" if row["met"] else "NO")
        shown = f"{base['name']} {base['value']}" if base else ""
        print(f"{row['name']:<40}{row['value']!s:>10}{row.get('target', '')!s:>8}  {met:<5} {shown}")
