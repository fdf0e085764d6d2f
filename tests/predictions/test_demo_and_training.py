"""load_demo is repeatable; train_models registers versions (first in production), also as a job."""

import io

import numpy as np
import pytest
from django.core.management import call_command

from a1site.jobs.models import Job
from a1site.registry.models import ModelVersion
from predictions import selectors, services
from predictions.models import Game, Player, PropLine, Result, StatLine, Team
from predictions.services import demo

pytestmark = pytest.mark.django_db

TABLES = (Team, Player, Game, StatLine, PropLine, Result)
# The day the demo leagues stand on (``load_demo --as-of``), fixed so every run loads the same
# rows: the small NBA league's 2026 season is then under way (55 of its 120 games played).
AS_OF = "2026-11-26"


def snapshot():
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in TABLES}


def load_demo(*args, as_of: str = AS_OF):
    out = io.StringIO()
    call_command("load_demo", "--small", "--no-progress", "--as-of", as_of, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_load_demo_twice_gives_the_same_rows(db):
    load_demo("--sport", "nba", "--sport", "mlb")
    first = snapshot()
    assert all(first[name] for name in first), {name: len(rows) for name, rows in first.items()}

    out = load_demo("--sport", "nba", "--sport", "mlb")

    assert snapshot() == first
    assert "nba: created 0 teams, 0 players, 0 games, 0 stat lines, 0 props, 0 results" in out


def test_demo_data_is_labelled_and_simulated_props_carry_the_oracle(db):
    load_demo("--sport", "nhl", "--sport", "mlb")
    nhl = PropLine.objects.filter(game__sport__code="nhl")
    assert nhl.exists() and not nhl.filter(simulated=False).exists()
    assert not nhl.filter(oracle_p_over__isnull=True).exists()
    mlb = PropLine.objects.filter(game__sport__code="mlb")
    assert set(mlb.values_list("stat", flat=True)) == {"home_runs", "hits", "total_bases", "strikeouts"}
    assert not mlb.filter(simulated=True).exists() and not mlb.filter(oracle_mean__isnull=False).exists()
    assert not Game.objects.filter(sport__code="mlb").exclude(kind=Game.Kind.SEASON).exists()
    # Every demo prop settles on a result.
    assert Result.objects.count() == PropLine.objects.values("game", "player", "stat").distinct().count()


def test_database_logs_match_what_the_simulator_produced(db):
    from predictions.engine.simulate import league_as_of
    from predictions.engine.training import demo_sim_configs

    load_demo("--sport", "nba")
    games, stat_lines, props = selectors.game_logs(sport="nba")
    config = next(c for c in demo_sim_configs(seed=0, quick=True) if c.sport == "nba")
    league = league_as_of(config, AS_OF)
    assert len(stat_lines) == len(league.stat_lines) and len(props) == len(league.props)
    assert np.sort(stat_lines.stats["points"]).tolist() == np.sort(league.stat_lines.stats["points"]).tolist()
    assert np.bincount(stat_lines.rest_days).tolist() == np.bincount(league.stat_lines.rest_days).tolist()


def test_the_demo_leagues_stand_as_on_the_morning_of_as_of_and_a_later_day_only_adds_games(db):
    load_demo("--sport", "nba", "--sport", "nfl")
    for sport in ("nba", "nfl"):
        games = Game.objects.filter(sport__code=sport)
        assert not games.filter(date__gte=AS_OF).exists()
        assert set(games.values_list("season", flat=True)) == {2025, 2026}
    assert Game.objects.filter(sport__code="nba", season=2026).count() == 55
    before = snapshot()

    out = load_demo("--sport", "nba", as_of="2026-12-03")

    after = snapshot()
    for table, rows in before.items():
        assert after[table][: len(rows)] == rows, table
    added = Game.objects.filter(sport__code="nba", date__gte=AS_OF)
    assert added.exists() and not added.filter(date__gte="2026-12-03").exists()
    assert f"nba: created 0 teams, 0 players, {added.count()} games" in out


def test_a_demo_league_laid_out_for_another_year_is_refused_and_nothing_is_written(db):
    from django.core.management.base import CommandError

    load_demo("--sport", "nba")
    before = snapshot()

    with pytest.raises(CommandError, match=r"laid out from the 2025 season; for 2027-11-26 it would start in 2026"):
        load_demo("--sport", "nba", as_of="2027-11-26")

    assert snapshot() == before


def test_an_unreadable_as_of_is_a_command_error_naming_the_option(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"--as-of: expected a date as YYYY-MM-DD or 'today', got '26/11/2026'"):
        load_demo("--sport", "nba", as_of="26/11/2026")
    assert not Game.objects.exists()


def test_train_models_registers_each_member_and_the_ensemble_with_baselines(db):
    load_demo("--sport", "nba")
    out = io.StringIO()
    call_command(
        "train_models",
        "--sport",
        "nba",
        "--stat",
        "points",
        "--quick",
        "--no-progress",
        stdout=out,
        stderr=io.StringIO(),
    )

    versions = {v.name: v for v in ModelVersion.objects.all()}
    assert set(versions) == {"nba.points.xgboost", "nba.points.torch", "nba.points.ensemble"}
    assert {v.status for v in versions.values()} == {ModelVersion.Status.PRODUCTION}
    ensemble = versions["nba.points.ensemble"]
    assert ensemble.kind == "ensemble" and ensemble.reliability_plot and ensemble.importance_plot
    assert {"book", "recent_average", "oracle"} <= set(ensemble.metrics["baselines"])
    assert ensemble.metrics["log_loss"] > 0 and set(ensemble.metrics["ensemble_weights"]) == {"xgboost", "torch"}
    assert ensemble.training_data_start < ensemble.training_data_end
    assert ensemble.feature_schema["family"] == "negbin"
    assert "3 model versions registered" in out.getvalue()

    version, model = services.production_model_load(sport="nba", stat="points")
    assert version == ensemble
    probabilities = model.predict_proba(np.zeros((1, len(ensemble.feature_schema["names"]))), np.array([10.5]))
    assert probabilities.p_over[0] + probabilities.p_under[0] == pytest.approx(1.0)


def test_training_as_a_job_adds_candidates_and_reports_progress(db, staff_user, django_capture_on_commit_callbacks):
    load_demo("--sport", "nba")
    services.models_train(sport="nba", stat="assists", quick=True)

    with django_capture_on_commit_callbacks(execute=True):
        job = services.models_train_start(user=staff_user, sport="nba", stat="assists", quick=True)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.kind == "predictions.train_models" and job.progress == 100
    assert [v["version"] for v in job.result["trained"]] == [2, 2, 2]
    assert set(ModelVersion.objects.filter(version=2).values_list("status", flat=True)) == {"candidate"}


def test_the_admin_action_queues_training_for_a_sport(
    db, client, staff_user, password, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    # Services queue the task by name (celery.signature), which ends in the task's apply_async.
    monkeypatch.setattr(
        "predictions.tasks.train_models_task.apply_async",
        lambda args=(), kwargs=None, **options: queued.append(args[0]),
    )
    client.login(username=staff_user.username, password=password)
    from predictions.models import Sport

    nfl = Sport.objects.get(code="nfl")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/predictions/sport/", {"action": "train_models", "_selected_action": [nfl.pk]})
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.params == {"sport": "nfl", "stat": None, "quick": False} and queued == [str(job.id)]


def test_a_sport_without_data_is_skipped_not_failed(db):
    summary = services.models_train(sport="nfl", stat="receptions", quick=True)
    assert summary["trained"] == []
    assert summary["skipped"][0]["reason"] == "No nfl stat lines in the database."


def test_mlb_season_features_from_the_database_equal_the_engines_and_serving(db):
    """The demo's MLB lines carry the component stats: the training dataset read from the
    database equals the one the engine builds from Lahman, and the serving path (three seasons
    read per target) gives the same rows, component rates included."""
    from predictions.engine.features import season_feature_names
    from predictions.engine.lahman import load_batting_seasons
    from predictions.engine.training import build_season_dataset

    load_demo("--sport", "mlb")
    from_db = services.dataset_build(sport="mlb", stat="home_runs")
    first = demo.DEMO_MLB_SMALL_FIRST_TARGET
    engine = build_season_dataset(
        load_batting_seasons(first - 3, 2024), "home_runs", first_target_season=first, last_target_season=2024
    )
    names = season_feature_names("home_runs")
    assert list(from_db.schema.names) == list(names)
    engine_row = {(p, int(s)): i for i, (p, s) in enumerate(zip(engine.player_id, engine.game_id, strict=True))}
    pairs = [
        (i, engine_row[(p, int(s))])
        for i, (p, s) in enumerate(zip(from_db.player_id, from_db.game_id))
        if (p, int(s)) in engine_row
    ]
    assert len(pairs) > 0.9 * len(from_db.y)
    db_rows, engine_rows = zip(*pairs, strict=True)
    np.testing.assert_allclose(from_db.X[list(db_rows)], engine.X[list(engine_rows)], rtol=1e-9, equal_nan=True)
    doubles = names.index("doubles_rate_weighted")
    assert np.isfinite(from_db.X[:, doubles]).mean() > 0.9

    game_pk = dict(Game.objects.filter(sport__code="mlb").values_list("season", "pk"))
    player_pk = dict(Player.objects.filter(sport__code="mlb").values_list("external_id", "pk"))
    sample = list(range(0, len(from_db.y), max(1, len(from_db.y) // 25)))
    targets = [(game_pk[int(from_db.game_id[i])], player_pk[from_db.player_id[i]]) for i in sample]
    served = services.feature_rows_for_seasons(stat="home_runs", targets=targets)
    np.testing.assert_allclose(
        np.vstack([served[key] for key in targets]), from_db.X[sample], rtol=1e-9, equal_nan=True
    )


def test_load_demo_again_adds_the_component_stats_to_seasons_stored_without_them(db):
    """docs/predictions.md's upgrade step: a database loaded before the component rates gets them."""
    load_demo("--sport", "mlb")
    lines = StatLine.objects.filter(game__sport__code="mlb", stats__has_key="plate_appearances")
    complete = {line.pk: line.stats for line in lines}
    for line in lines:
        line.stats = {k: v for k, v in line.stats.items() if k not in ("doubles", "walks", "stolen_bases")}
        line.save(update_fields=["stats"])

    load_demo("--sport", "mlb")

    assert {line.pk: line.stats for line in lines.all()} == complete
    assert all("doubles" in stats for stats in complete.values())


def test_after_a_demo_load_the_props_list_walks_the_games_date_index_not_a_sort_of_every_prop(db):
    """SQLite has no statistics until ANALYZE; without them it sorted every prop for each
    page of the unfiltered list (~60 ms on the full demo)."""
    from django.db import connection

    load_demo("--sport", "nba", "--sport", "nhl")
    keys = selectors.priced_prop_list(sort="-date").values_list("pk", flat=True)[100:150]
    sql, params = keys.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(row[-1] for row in cursor.fetchall())
    assert "INDEX game_date" in plan, plan
