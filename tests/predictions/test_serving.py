"""The in-process inference service: equal to the engine, swaps versions across processes."""

import numpy as np
import pytest

from a1site.registry.services import model_version_activate
from predictions import selectors, services
from predictions.engine.features import build_game_features
from predictions.engine.models import load_model
from predictions.serving import InferenceService, edges, service

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("with_book", [False, True], ids=["no odds", "book prices"])
def test_served_scores_equal_the_engine_ensemble_and_its_members(served, nba_points_training, with_book):
    dataset, result = nba_points_training
    model = service().production("nba", "points")
    ensemble = load_model(result.artifacts["ensemble"])
    X = dataset.X[:300]
    lines = np.where(np.arange(300) % 4 == 0, np.round(dataset.y[:300]), np.floor(dataset.y[:300]) + 0.5)
    # Book prices from 0.1 to 0.9 (NaN: a prop without odds), or none at all.
    anchors = np.where(np.arange(300) % 7 == 0, np.nan, np.linspace(0.1, 0.9, 300)) if with_book else None

    scores = model.score(X, lines, anchors)

    expected = ensemble.predict_proba(X, lines, anchors)
    for name, values in zip(("p_over", "p_under", "p_push", "mean"), expected, strict=True):
        np.testing.assert_allclose(scores[name], values, rtol=1e-5, atol=1e-6)
    if with_book:
        assert not np.allclose(scores["p_over"], ensemble.predict_proba(X, lines).p_over, atol=1e-3)
    for member in ensemble.members:
        member_prices = member.predict_proba(X, lines, anchors)
        np.testing.assert_allclose(scores[f"{member.kind}_p_over"], member_prices.p_over, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(scores[f"{member.kind}_p_under"], member_prices.p_under, rtol=1e-5, atol=1e-6)
    total = scores["p_over"] + scores["p_under"] + scores["p_push"]
    np.testing.assert_allclose(total, 1.0, atol=1e-9)


def test_one_row_is_scored_exactly_as_in_a_batch(served, nba_points_training):
    dataset, result = nba_points_training
    model = service().production("nba", "points")
    ensemble = load_model(result.artifacts["ensemble"])
    cases = ((0, 10.5, None), (1, 12.0, None), (2, 0.5, 0.3), (3, 0.0, None), (4, 31.5, 0.2), (5, 14.5, np.nan))
    for row, line, anchor in cases:
        book = None if anchor is None else np.array([anchor])
        one = model.score(dataset.X[row : row + 1], np.array([line]), book)
        expected = ensemble.predict_proba(dataset.X[row : row + 1], np.array([line]), book)
        for name, values in zip(("p_over", "p_under", "p_push", "mean"), expected, strict=True):
            np.testing.assert_allclose(one[name], values, rtol=1e-6, atol=1e-7, err_msg=f"{name} at {line}")
        books = None if book is None else np.repeat(book, 2)
        batch = model.score(dataset.X[row : row + 2], np.array([line, line]), books)
        for name in one:
            np.testing.assert_allclose(one[name], batch[name][:1], rtol=1e-6, atol=1e-7)


def test_feature_rows_from_recent_history_equal_the_training_features(served):
    games, lines, _ = selectors.game_logs(sport="nba", with_props=False)
    X = build_game_features("nba", "points", lines, games)
    last_day = [g for g in served["games"] if g.date == max(x.date for x in served["games"])]
    checked = 0
    for game in last_day:
        for row in np.flatnonzero(lines.game_id == game.pk):
            built = services.feature_row_from_history(
                sport="nba", stat="points", game_id=game.pk, player_id=int(lines.player_id[row])
            )
            np.testing.assert_allclose(built, X[row], rtol=1e-9, atol=1e-9, equal_nan=True)
            checked += 1
    assert checked == 20


def test_upcoming_game_features_are_the_same_by_history_and_by_logs(served):
    game = served["upcoming"][0]
    players = [p.pk for p in served["players"] if p.team_id in (game.home_team_id, game.away_team_id)]
    by_logs = services.feature_rows_from_logs(sport="nba", stat="points", targets=[(game.pk, p) for p in players])
    assert len(by_logs) == 10
    for player in players:
        by_history = services.feature_row_from_history(sport="nba", stat="points", game_id=game.pk, player_id=player)
        np.testing.assert_allclose(by_history, by_logs[(game.pk, player)], rtol=1e-9, atol=1e-9, equal_nan=True)


def test_feature_rows_are_stored_once_and_read_back(served, django_assert_max_num_queries):
    game = served["upcoming"][0]
    player = next(p for p in served["players"] if p.team_id == game.home_team_id)
    first = services.prop_features_get(sport="nba", stat="points", targets=[(game.pk, player.pk)])
    with django_assert_max_num_queries(1):
        again = services.prop_features_get(sport="nba", stat="points", targets=[(game.pk, player.pk)])
    np.testing.assert_array_equal(first[(game.pk, player.pk)][0], again[(game.pk, player.pk)][0])
    assert first[(game.pk, player.pk)][1] == again[(game.pk, player.pk)][1]


def test_activation_in_one_process_switches_serving_in_another(
    served, register_models, django_capture_on_commit_callbacks
):
    # Two services stand for two server processes: they share only the cache and the database.
    first_process = InferenceService(check_interval_s=0, db_ttl_s=3600)
    second_process = InferenceService(check_interval_s=0, db_ttl_s=3600)
    v1 = served["version"]
    assert first_process.production("nba", "points").version_id == v1.pk
    assert second_process.production("nba", "points").version_id == v1.pk
    v2 = register_models()

    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version_id=v2.pk, reason="test")

    assert first_process.production("nba", "points").version_id == v2.pk
    assert second_process.production("nba", "points").version_id == v2.pk
    assert second_process.loads == 2


def test_a_lost_generation_bump_is_caught_by_the_database_check(served, register_models, monkeypatch):
    monkeypatch.setattr("predictions.serving.generation_bump", lambda: None)
    process = InferenceService(check_interval_s=0, db_ttl_s=0)
    assert process.production("nba", "points").version_id == served["version"].pk
    v2 = register_models()
    model_version_activate(version_id=v2.pk, reason="test")  # no on_commit run: no bump at all
    assert process.production("nba", "points").version_id == v2.pk


def test_the_check_interval_bounds_how_often_the_cache_is_read(served, register_models, monkeypatch):
    process = InferenceService(check_interval_s=3600, db_ttl_s=3600)
    assert process.production("nba", "points").version_id == served["version"].pk
    reads = []
    monkeypatch.setattr("predictions.serving.cache.get", lambda key, *a: reads.append(key))
    for _ in range(100):
        process.production("nba", "points")
    assert reads == []


def test_edge_is_p_side_given_no_push_times_odds_minus_one_on_the_better_side():
    edge, side = edges([0.55, 0.40, 0.45], [0.45, 0.50, 0.45], [1.91, 2.10, np.nan], [1.91, 1.80, np.nan])
    assert edge[0] == pytest.approx(0.55 * 1.91 - 1) and side[0] == "over"
    assert edge[1] == pytest.approx(0.50 / 0.90 * 1.80 - 1) and side[1] == "under"
    assert np.isnan(edge[2]) and side[2] == ""


def test_serving_negbin_tails_match_the_engine_to_relative_precision():
    """One incomplete-beta term per entry (the upper tail as 1 - CDF unless it is tiny) keeps
    both tails within 1e-9 relative of the engine's four-term evaluation, far tails included."""
    from predictions.engine.distributions import cdf_sf
    from predictions.engine.fast_pricing import fast_cdf_sf as _cdf_sf

    rng = np.random.default_rng(7)
    mean = np.concatenate([rng.uniform(0.05, 40.0, 2000), [0.1, 30.0, 2.0]])
    dispersion = np.concatenate([rng.uniform(0.02, 2.0, 2000), [0.05, 0.05, 1.5]])
    k = np.concatenate([np.floor(rng.uniform(0, 80, 2000)), [60.0, 0.0, 200.0]])
    cdf, sf = _cdf_sf("negbin", mean, dispersion, k)
    engine_cdf, engine_sf = cdf_sf("negbin", mean, dispersion, k)
    np.testing.assert_allclose(cdf, engine_cdf, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(sf, engine_sf, rtol=1e-9, atol=1e-300)
    assert sf.min() < 1e-12  # the far tails above are exercised


def test_a_process_keeps_a_bounded_number_of_loaded_ensembles(served, register_models, monkeypatch):
    """Old versions asked about one after another (detail pages, explanations) do not all stay
    in memory: the least recently used are let go, and come back on the next ask."""
    from predictions import serving

    monkeypatch.setattr(serving, "ENSEMBLES_KEPT", 2)
    versions = [served["version"], register_models(), register_models()]
    inference = InferenceService(check_interval_s=0, db_ttl_s=3600)
    for version in versions:
        assert inference.ensemble_for_version(version.pk) is not None
    assert list(inference._ensembles) == [versions[1].pk, versions[2].pk]
    assert inference.ensemble_for_version(versions[0].pk) is not None
    assert list(inference._ensembles) == [versions[2].pk, versions[0].pk]


def test_a_loaded_model_version_is_frozen_out_of_full_collections(served):
    """A version lives as long as the process: full collections stop walking its objects."""
    import gc

    gc.unfreeze()
    try:
        InferenceService().ensemble_for_version(served["version"].pk)  # a process's first load
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
