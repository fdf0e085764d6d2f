import numpy as np
import pytest

from predictions.engine.features import (
    FeatureSchema,
    SeasonFeatureInputs,
    build_game_features,
    compute_season_features,
    game_feature_names,
    game_history_from_logs,
    game_schema,
    season_components,
    season_feature_names,
    serving_game_features,
)
from predictions.engine.logs import StatLines
from predictions.engine.marcel import BATTING_MARCEL, marcel_project
from predictions.engine.simulate import SimConfig, simulate_league


@pytest.fixture(scope="module")
def league():
    return simulate_league(SimConfig("nba", n_seasons=2, games_per_team=24, n_teams=6, seed=11))


def serving_row(league, row: int, stat: str) -> np.ndarray:
    lines = league.stat_lines
    same_team_game = (lines.game_id == lines.game_id[row]) & (lines.team_id == lines.team_id[row])
    history = game_history_from_logs(
        lines,
        league.games,
        stat=stat,
        player_id=lines.player_id[row],
        team_id=lines.team_id[row],
        opponent_id=lines.opponent_id[row],
        game_date=lines.game_date[row],
        is_home=lines.is_home[row],
        rest_days=lines.rest_days[row],
        role=lines.role[row],
        active_player_ids=lines.player_id[same_team_game],
    )
    return serving_game_features("nba", [history])[0]


@pytest.mark.parametrize("stat", ["points", "assists"])
def test_serving_row_equals_training_row_for_the_same_game(league, stat):
    training = build_game_features("nba", stat, league.stat_lines, league.games)
    rows = np.random.default_rng(0).choice(len(league.stat_lines), 30, replace=False)
    for row in rows:
        np.testing.assert_allclose(serving_row(league, row, stat), training[row], rtol=0, atol=1e-6, equal_nan=True)


def test_serving_batch_equals_single_rows(league):
    lines = league.stat_lines
    rows = [len(lines) - 1, len(lines) // 2]
    histories = []
    for row in rows:
        active = lines.player_id[(lines.game_id == lines.game_id[row]) & (lines.team_id == lines.team_id[row])]
        histories.append(
            game_history_from_logs(
                lines,
                league.games,
                stat="points",
                player_id=lines.player_id[row],
                team_id=lines.team_id[row],
                opponent_id=lines.opponent_id[row],
                game_date=lines.game_date[row],
                is_home=lines.is_home[row],
                rest_days=lines.rest_days[row],
                role=lines.role[row],
                active_player_ids=active,
            )
        )
    batch = serving_game_features("nba", histories)
    for index, history in enumerate(histories):
        single = serving_game_features("nba", [history])[0]
        # Batched dot products may sum in another order: equal up to float rounding.
        np.testing.assert_allclose(batch[index], single, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_a_games_features_never_see_that_games_stats(league):
    lines = league.stat_lines
    target_date = np.unique(lines.game_date)[len(np.unique(lines.game_date)) // 2]
    on_date = lines.game_date == target_date
    changed_stats = {code: np.where(on_date, values * 10 + 7, values) for code, values in lines.stats.items()}
    changed = StatLines(
        **{
            **{
                f: getattr(lines, f)
                for f in (
                    "game_id",
                    "player_id",
                    "team_id",
                    "opponent_id",
                    "game_date",
                    "season",
                    "role",
                    "is_home",
                    "rest_days",
                )
            },
            "minutes": np.where(on_date, lines.minutes + 5, lines.minutes),
            "stats": changed_stats,
        }
    )
    before = build_game_features("nba", "points", lines, league.games)
    after = build_game_features("nba", "points", changed, league.games)
    np.testing.assert_array_equal(before[lines.game_date <= target_date], after[lines.game_date <= target_date])
    # The change does reach later games, so the comparison above is not vacuous.
    assert not np.array_equal(before[lines.game_date > target_date], after[lines.game_date > target_date])


def test_feature_matrix_follows_the_schema(league):
    features = build_game_features("nba", "rebounds", league.stat_lines, league.games)
    assert features.shape == (len(league.stat_lines), len(game_feature_names("rebounds")))
    assert np.isnan(features[:, 0]).sum() > 0  # a player's first game has no history


def test_schema_mismatch_raises_a_clear_error():
    with pytest.raises(ValueError, match="feature schema mismatch"):
        game_schema("points").check(game_schema("rebounds"))
    reordered = FeatureSchema.from_names(reversed(game_feature_names("points")))
    with pytest.raises(ValueError, match="different order"):
        game_schema("points").check(reordered)


def test_schema_round_trips_and_detects_a_tampered_version():
    schema = game_schema("points")
    assert FeatureSchema.from_dict(schema.to_dict()) == schema
    with pytest.raises(ValueError, match="does not match its names"):
        FeatureSchema.from_dict({"names": list(schema.names), "version": "0" * 16})


def test_season_features_carry_the_marcel_projection():
    counts, opportunities = np.array([[30.0, 25, 20]]), np.array([[600.0, 550, 500]])
    rates, age = np.full((1, 3), 0.03), np.array([27.0])
    names = season_feature_names("home_runs")
    components = np.full((1, len(season_components("home_runs")), 3), 10.0)
    features = compute_season_features(
        SeasonFeatureInputs(counts, opportunities, rates, age, BATTING_MARCEL, components)
    )
    assert features.shape == (1, len(names))
    marcel = marcel_project(counts, opportunities, rates, age)
    assert features[0, names.index("marcel_home_runs")] == pytest.approx(marcel.count[0])
    assert features[0, names.index("home_runs_rate_lag1")] == pytest.approx(0.05)


def test_season_component_rates_weight_seasons_as_marcel_and_skip_unrecorded_ones():
    """Doubles 40/30/20 over 600/500/400 PA with Marcel's 5/4/3: (200+120+60)/(3000+2000+1200);
    walks unrecorded in the middle season: that season drops out of both sums; a component
    never recorded is NaN, and so is every component of a player without history."""
    codes = season_components("home_runs")
    assert "home_runs" not in codes and {"doubles", "walks", "hits"} <= set(codes)
    opportunities = np.array([[600.0, 500, 400], [0.0, 0, 0]])
    components = np.full((2, len(codes), 3), np.nan)
    components[0, codes.index("doubles")] = [40, 30, 20]
    components[0, codes.index("walks")] = [60, np.nan, 30]
    components[1, codes.index("doubles")] = [0, 0, 0]
    features = compute_season_features(
        SeasonFeatureInputs(
            np.zeros((2, 3)), opportunities, np.full((2, 3), 0.03), np.array([27.0, 22.0]), BATTING_MARCEL, components
        )
    )
    names = season_feature_names("home_runs")
    assert features[0, names.index("doubles_rate_weighted")] == pytest.approx(380 / 6200)
    assert features[0, names.index("walks_rate_weighted")] == pytest.approx((300 + 90) / (3000 + 1200))
    assert np.isnan(features[0, names.index("stolen_bases_rate_weighted")])
    assert np.isnan(features[1, names.index("doubles_rate_weighted")])


def test_pitcher_season_props_have_no_components():
    assert season_components("strikeouts") == ()
    assert not any(name.endswith("_rate_weighted") for name in season_feature_names("strikeouts"))
