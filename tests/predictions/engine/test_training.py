import numpy as np
import pytest

from predictions.engine import lahman
from predictions.engine.lahman import league_rates, load_batting_seasons
from predictions.engine.models import load_model
from predictions.engine.simulate import SimConfig, simulate_league
from predictions.engine.training import (
    TrainConfig,
    build_game_dataset,
    build_season_dataset,
    quick_train_config,
    time_split,
    train_stat,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_time_split_has_no_overlap_and_the_test_is_latest():
    dates = np.array("2024-01-01", dtype="datetime64[D]") + np.random.default_rng(0).integers(0, 100, 3000)
    split = time_split(dates, validation_fraction=0.15, test_fraction=0.2)
    assert not (split.train & split.validation).any()
    assert not (split.validation & split.test).any()
    assert not (split.train & split.test).any()
    assert (split.train | split.validation | split.test).all()
    assert dates[split.train].max() < dates[split.validation].min()
    assert dates[split.validation].max() < dates[split.test].min()


def test_season_split_holds_out_the_last_season():
    dates = np.array(["2022-04-01", "2023-04-01", "2024-04-01"] * 4, dtype="datetime64[D]")
    split = time_split(dates, split_unit="season")
    assert set(dates[split.test].astype(str)) == {"2024-04-01"}
    assert set(dates[split.validation].astype(str)) == {"2023-04-01"}


def test_time_split_needs_enough_dates():
    with pytest.raises(ValueError, match="distinct dates"):
        time_split(np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"))


@pytest.fixture(scope="module")
def nhl_result():
    league = simulate_league(SimConfig("nhl", n_seasons=2, games_per_team=20, n_teams=4, seed=2))
    dataset = build_game_dataset(league.stat_lines, league.games, league.props, sport="nhl", stat="shots_on_goal")
    updates = []
    result = train_stat(
        dataset,
        seed=0,
        config=quick_train_config(),
        progress=lambda fraction, message: updates.append((fraction, message)),
    )
    return dataset, result, updates


def test_train_stat_returns_artifacts_metrics_and_plots(nhl_result):
    dataset, result, _ = nhl_result
    assert set(result.artifacts) == {"xgboost", "torch", "ensemble"}
    assert set(result.metrics) == {"xgboost", "torch", "ensemble", "book", "recent_average", "oracle"}
    for scores in result.metrics.values():
        assert set(scores) == {"log_loss", "brier", "mae", "ece", "n_test"}
        assert scores["n_test"] > 0 and 0 < scores["log_loss"] < 2
    assert result.reliability_png.startswith(PNG_SIGNATURE)
    assert result.feature_importance_png.startswith(PNG_SIGNATURE)
    assert result.data_last_date < result.test_first_date
    assert sum(result.ensemble_weights.values()) == pytest.approx(1.0)
    ensemble = load_model(result.artifacts["ensemble"], expected_schema=dataset.schema)
    assert ensemble.predict_proba(dataset.X[:5], np.full(5, 1.5)).p_over.shape == (5,)


def test_progress_is_reported_from_zero_to_one(nhl_result):
    fractions = [fraction for fraction, _ in nhl_result[2]]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


def test_training_is_deterministic_for_a_seed():
    league = simulate_league(SimConfig("nba", n_seasons=1, games_per_team=20, n_teams=4, seed=3))
    dataset = build_game_dataset(league.stat_lines, league.games, league.props, sport="nba", stat="threes")
    config = TrainConfig(xgboost=quick_train_config().xgboost, torch=quick_train_config().torch)
    first = train_stat(dataset, seed=5, config=config)
    second = train_stat(dataset, seed=5, config=config)
    assert first.artifacts == second.artifacts


def test_mlb_season_dataset_uses_qualified_seasons_and_marcel():
    seasons = load_batting_seasons(2018, 2024)
    dataset = build_season_dataset(seasons, "home_runs", first_target_season=2021, last_target_season=2024)
    assert dataset.split_unit == "season"
    assert (dataset.dates >= np.datetime64("2021-04-01")).all()
    assert len(dataset.props.row_index) == len(dataset.y)
    assert np.isfinite(dataset.baselines["marcel"]).all()
    assert set(np.unique(dataset.props.line % 1)) == {0.5}


def test_mlb_fair_marcel_baseline_is_the_season_books_projection_without_its_noise(monkeypatch):
    monkeypatch.setattr(lahman, "BOOK_PROJECTION_ERROR_SD", 0.0)
    seasons = load_batting_seasons(2018, 2024)
    dataset = build_season_dataset(seasons, "hits", first_target_season=2023, last_target_season=2024)
    fair = dataset.baselines["fair_marcel"][dataset.props.row_index]
    plain = dataset.baselines["marcel"][dataset.props.row_index]
    np.testing.assert_array_equal(dataset.props.line, np.floor(fair) + 0.5)
    # Told that the player qualifies, Marcel never projects less playing time than he does.
    assert (fair >= plain - 1e-9).all() and (fair > plain).mean() > 0.5


def test_mlb_season_dataset_adjusts_training_offsets_to_each_seasons_league_level():
    seasons = load_batting_seasons(2018, 2024)
    dataset = build_season_dataset(seasons, "home_runs", first_target_season=2021, last_target_season=2024)
    rates = league_rates(seasons, "home_runs")
    adjustment = dataset.training_offset_adjustment
    assert adjustment.shape == dataset.y.shape and np.isfinite(adjustment).all()
    # The league's home-run rate fell from 2021 to 2022 (the deadened ball), so 2022's seasons
    # sit below the league level Marcel regresses them to.
    assert adjustment[dataset.game_id == 2022].mean() < 0
    # A player with only last season's history is regressed to that season's league rate.
    names = dataset.schema.names
    only_last_season = (
        (dataset.game_id == 2022)
        & (dataset.X[:, names.index("opportunities_lag1")] > 0)
        & (dataset.X[:, names.index("opportunities_lag2")] == 0)
        & (dataset.X[:, names.index("opportunities_lag3")] == 0)
    )
    assert only_last_season.any()
    np.testing.assert_allclose(adjustment[only_last_season], np.log(rates[2022] / rates[2021]))
