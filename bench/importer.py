"""Import speed of stat lines: CSV file → validated rows in the database.

Generates a synthetic NBA league (30 teams, 15 players each, 20 player-games per game) with
1,000,000 stat lines (100,000 with ``--quick``), imports teams, players and games, then times
``import_stats`` on the stat lines file (parsing, row validation, key resolution, upsert, one
transaction) and the same file again (idempotent: nothing changes). The baseline in the same
run is the raw write alone: ``executemany`` of the same rows, pre-built as tuples, into the
emptied table; the ratio is what validation and parsing cost on top of the write. Django's
``bulk_create`` of pre-built model instances is reported for comparison. On PostgreSQL the
importer streams rows with COPY into a staging table and writes them with one set-based
statement, so its ratio to the executemany baseline can exceed 1; both timings include the
commit, where PostgreSQL runs the deferred foreign-key checks (Django's FKs are
``DEFERRABLE INITIALLY DEFERRED``).

SQLite (a scratch file, as in the embedded mode) always; PostgreSQL as well when DATABASE_URL
points at one (a scratch ``test_…`` database is created there and dropped afterwards).

    .venv/bin/python bench/importer.py [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, results_path  # noqa: E402

FULL_ROWS = 1_000_000
TARGET_PER_S = FULL_ROWS / 60


def write_league(directory: Path, n_lines: int) -> dict[str, Path]:
    """CSV files for a synthetic league; deterministic."""
    import numpy as np

    rng = np.random.default_rng(7)
    n_teams, per_team, per_side = 30, 15, 10
    n_games = -(-n_lines // (2 * per_side))
    paths = {kind: directory / f"{kind}.csv" for kind in ("teams", "players", "games", "stats")}
    paths["teams"].write_text(
        "sport,team_id,name,abbreviation\n"
        + "".join(f"nba,T{t:02d},Bench Team {t:02d},T{t:02d}\n" for t in range(n_teams))
    )
    paths["players"].write_text(
        "sport,player_id,name,team_id,role\n"
        + "".join(
            f"nba,P{t:02d}{p:02d},Bench Player {t:02d}{p:02d},T{t:02d},{'starter' if p < 5 else 'bench'}\n"
            for t in range(n_teams)
            for p in range(per_team)
        )
    )
    home = rng.integers(0, n_teams, n_games)
    away = (home + rng.integers(1, n_teams, n_games)) % n_teams
    start = dt.date(2000, 10, 1)
    dates = [start + dt.timedelta(days=int(d)) for d in np.sort(rng.integers(0, 9000, n_games))]
    with paths["games"].open("w") as handle:
        handle.write("sport,game_id,season,date,home_team_id,away_team_id\n")
        for g in range(n_games):
            day = dates[g]
            handle.write(
                f"nba,G{g:07d},{day.year if day.month >= 8 else day.year - 1},{day:%Y-%m-%d},"
                f"T{home[g]:02d},T{away[g]:02d}\n"
            )
    game_index = np.repeat(np.arange(n_games), 2 * per_side)[:n_lines]
    side = (np.arange(n_lines) // per_side) % 2
    team = np.where(side == 0, home[game_index], away[game_index])
    slot = np.arange(n_lines) % per_side
    minutes = np.round(rng.uniform(5, 42, n_lines), 1)
    points = rng.poisson(minutes * 0.45)
    rebounds = rng.poisson(minutes * 0.17)
    assists = rng.poisson(minutes * 0.1)
    threes = rng.poisson(minutes * 0.04)
    with paths["stats"].open("w") as handle:
        handle.write("sport,game_id,player_id,team_id,minutes,points,rebounds,assists,threes\n")
        step = 200_000
        for begin in range(0, n_lines, step):
            end = min(begin + step, n_lines)
            handle.write(
                "".join(
                    f"nba,G{game_index[i]:07d},P{team[i]:02d}{slot[i]:02d},T{team[i]:02d},{minutes[i]},"
                    f"{points[i]},{rebounds[i]},{assists[i]},{threes[i]}\n"
                    for i in range(begin, end)
                )
            )
    return paths


def run_on_current_database(paths: dict[str, Path], n_lines: int, label: str) -> list[dict]:
    from django.db import connection, transaction

    from predictions import services, writes
    from predictions.models import StatLine

    for kind in ("teams", "players", "games"):
        with paths[kind].open("rb") as handle:
            services.data_import(kind=kind, csv_file=handle, source=kind)

    def timed_import() -> tuple[float, services.ImportReport]:
        started = time.perf_counter()
        with paths["stats"].open("rb") as handle:
            report = services.data_import(
                kind="stats", csv_file=handle, source="stats.csv", total_bytes=paths["stats"].stat().st_size
            )
        return time.perf_counter() - started, report

    first_s, first = timed_import()
    assert first.created == n_lines, first.as_dict()
    again_s, again = timed_import()
    assert again.created == 0 and again.updated == 0, again.as_dict()

    # Baseline: the same rows, already as tuples, written with the same SQL (no parsing,
    # validation or key lookups).
    rows = list(
        StatLine.objects.values_list(
            "player_id", "game_id", "team_id", "opponent_id", "is_home", "role", "minutes", "stats", "simulated"
        )
    )
    rows = [(*row[:7], json.dumps(row[7], separators=(",", ":")), row[8]) for row in rows]
    table = StatLine._meta.db_table
    columns = "player_id, game_id, team_id, opponent_id, is_home, role, minutes, stats, simulated"
    json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, {json_placeholder}, %s)"
    StatLine.objects.all().delete()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for begin in range(0, len(rows), writes.WRITE_BATCH_ROWS):
            cursor.executemany(sql, rows[begin : begin + writes.WRITE_BATCH_ROWS])
    raw_s = time.perf_counter() - started

    sample = min(len(rows), 100_000)
    objects = [
        StatLine(
            player_id=r[0],
            game_id=r[1],
            team_id=r[2],
            opponent_id=r[3],
            is_home=r[4],
            role=r[5],
            minutes=r[6],
            stats=json.loads(r[7]),
            simulated=r[8],
        )
        for r in rows[:sample]
    ]
    StatLine.objects.all().delete()
    started = time.perf_counter()
    with transaction.atomic():
        StatLine.objects.bulk_create(objects, batch_size=2000)
    bulk_s = time.perf_counter() - started

    raw_rate = n_lines / raw_s
    return [
        {
            "name": f"stat_lines_per_s{label}",
            "value": round(n_lines / first_s),
            "unit": "rows/s",
            "better": "higher",
            "target": round(TARGET_PER_S),
            "baseline": {"name": f"raw_executemany_rows_per_s{label}", "value": round(raw_rate)},
            "seconds": round(first_s, 2),
            "rows": n_lines,
        },
        {
            "name": f"stat_lines_reimport_per_s{label}",
            "value": round(n_lines / again_s),
            "unit": "rows/s",
            "better": "higher",
            "baseline": {"name": f"raw_executemany_rows_per_s{label}", "value": round(raw_rate)},
            "seconds": round(again_s, 2),
            "rows": n_lines,
        },
        {
            "name": f"bulk_create_rows_per_s{label}",
            "value": round(sample / bulk_s),
            "unit": "rows/s",
            "better": "higher",
            "rows": sample,
        },
    ]


def run_sqlite(paths, n_lines: int, directory: Path) -> list[dict]:
    from django.core.management import call_command

    # A1_VAR_DIR points at the scratch directory, so this is a fresh SQLite file there.
    call_command("migrate", verbosity=0)
    return run_on_current_database(paths, n_lines, "")


def run_postgres(paths, n_lines: int) -> list[dict]:
    from django.test.utils import setup_databases, teardown_databases

    old = setup_databases(verbosity=0, interactive=False)
    try:
        return run_on_current_database(paths, n_lines, "_postgres")
    finally:
        teardown_databases(old, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 stat lines instead of 1,000,000")
    parser.add_argument("--rows", type=int, help="number of stat lines (overrides --quick)")
    args = parser.parse_args()
    n_lines = args.rows or (100_000 if args.quick else FULL_ROWS)

    postgres_url = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="a1-bench-importer-") as tmp:
        directory = Path(tmp)
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
        os.environ["A1_VAR_DIR"] = tmp
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "a1site.settings")
        metrics: list[dict] = []
        started = time.perf_counter()
        paths = write_league(directory, n_lines)
        print(
            f"generated {n_lines:,} stat lines ({paths['stats'].stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - started:.1f}s",
            flush=True,
        )
        if postgres_url:
            # Each database in its own process: Django's settings are read once per process.
            metrics += run_child(["--postgres"], paths, n_lines, {"DATABASE_URL": postgres_url})
        metrics += run_child(["--sqlite"], paths, n_lines, {"DATABASE_URL": ""})

    metrics.sort(key=lambda m: m["name"])
    print(f"\n{'metric':40} {'value':>12} {'unit':>7} {'target':>8} {'baseline':>12}  ratio")
    for metric in metrics:
        baseline = metric.get("baseline", {}).get("value")
        ratio = f"{metric['value'] / baseline:.2f}" if baseline else ""
        print(
            f"{metric['name']:40} {metric['value']:>12,} {metric['unit']:>7} {metric.get('target', ''):>8} "
            f"{baseline or '':>12}  {ratio}"
        )
    results = results_path("importer", full=not args.quick and args.rows in (None, FULL_ROWS))
    results.write_text(
        json.dumps(
            {
                "bench": "importer",
                "machine": machine(),
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "rows": n_lines,
                "metrics": metrics,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {results.relative_to(ROOT)}")


def run_child(flag: list[str], paths, n_lines: int, env_overrides: dict) -> list[dict]:
    env = {**os.environ, **env_overrides}
    if not env.get("DATABASE_URL"):
        env.pop("DATABASE_URL", None)
    directory = paths["stats"].parent
    command = [sys.executable, __file__, *flag, "--child-dir", str(directory), "--rows", str(n_lines)]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    sys.stderr.write(output.stderr)
    return json.loads(output.stdout.strip().splitlines()[-1])


def child() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--child-dir", required=True)
    parser.add_argument("--rows", type=int, required=True)
    args = parser.parse_args()
    import django

    django.setup()
    directory = Path(args.child_dir)
    paths = {kind: directory / f"{kind}.csv" for kind in ("teams", "players", "games", "stats")}
    metrics = run_postgres(paths, args.rows) if args.postgres else run_sqlite(paths, args.rows, directory)
    sys.stdout.write(json.dumps(metrics) + "\n")


if __name__ == "__main__":
    if "--child-dir" in sys.argv:
        child()
    else:
        main()
