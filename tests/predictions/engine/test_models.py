import numpy as np
import pytest

from predictions.engine.features import FeatureSchema
from predictions.engine.models import (
    Ensemble,
    TorchConfig,
    TorchDistModel,
    XGBoostConfig,
    XGBoostDistModel,
    ewm_update,
    load_model,
    stacking_weights,
    update_weights,
)
from tests.support import negbin_rows

SCHEMA = FeatureSchema.from_names(["skill", "minutes", "noise"])


@pytest.fixture(scope="module")
def data():
    X, y = negbin_rows(0, 1500, intercept=1.5, dispersion=0.1, nan_every=17)
    return X[:1000], y[:1000], X[1000:], y[1000:]


@pytest.fixture(scope="module")
def members(data):
    X_train, y_train, X_val, y_val = data
    common = {"sport": "nba", "stat": "points", "family": "negbin", "schema": SCHEMA, "seed": 1}
    xgboost_model = XGBoostDistModel.fit(
        X_train, y_train, X_val, y_val, config=XGBoostConfig(n_estimators=30, early_stopping_rounds=5), **common
    )
    torch_model = TorchDistModel.fit(X_train, y_train, X_val, y_val, config=TorchConfig(epochs=5), **common)
    return xgboost_model, torch_model


def test_members_learn_the_mean(members, data):
    _, _, X_val, y_val = data
    for model in members:
        p_over, p_under, p_push, mean = model.predict_proba(X_val, np.full(len(y_val), 4.0))
        np.testing.assert_allclose(p_over + p_under + p_push, 1.0, atol=1e-9)
        assert np.corrcoef(mean, y_val)[0, 1] > 0.5


@pytest.mark.parametrize("index", [0, 1])
def test_artifact_round_trip_gives_identical_predictions(members, data, index):
    model = members[index]
    X_val = data[2]
    artifact = model.to_bytes()
    restored = type(model).from_bytes(artifact, expected_schema=SCHEMA)
    lines = np.full(len(X_val), 5.0)
    for a, b in zip(model.predict_proba(X_val, lines), restored.predict_proba(X_val, lines), strict=True):
        np.testing.assert_array_equal(a, b)
    assert restored.to_bytes() == artifact


def test_ensemble_round_trip_and_mixture(members, data):
    X_val, y_val = data[2], data[3]
    ensemble = Ensemble.fit(list(members), X_val, y_val)
    assert ensemble.weights.sum() == pytest.approx(1.0)
    restored = load_model(ensemble.to_bytes())
    lines = np.full(len(X_val), 4.5)
    np.testing.assert_array_equal(
        ensemble.predict_proba(X_val, lines).p_over, restored.predict_proba(X_val, lines).p_over
    )
    manual = sum(w * m.predict_proba(X_val, lines).p_over for w, m in zip(ensemble.weights, members, strict=True))
    np.testing.assert_allclose(ensemble.predict_proba(X_val, lines).p_over, manual)
    moved = ensemble.with_weights([0.9, 0.1])
    np.testing.assert_array_equal(moved.weights, [0.9, 0.1])
    with pytest.raises(ValueError, match="summing to 1"):
        ensemble.with_weights([0.9, 0.3])


@pytest.mark.parametrize("position", [0, 20, 60, -1])
def test_a_corrupted_byte_raises_a_clear_error(members, position):
    artifact = bytearray(members[0].to_bytes())
    artifact[position] ^= 0xFF
    with pytest.raises(ValueError, match="corrupted|not an A1 model artifact"):
        load_model(bytes(artifact))


def test_loading_with_another_schema_is_refused(members):
    other = FeatureSchema.from_names(["skill", "minutes", "rest"])
    with pytest.raises(ValueError, match="feature schema mismatch"):
        XGBoostDistModel.from_bytes(members[0].to_bytes(), expected_schema=other)
    with pytest.raises(ValueError, match="feature matrix has shape"):
        members[1].predict_params(np.zeros((2, 4)))


def test_stacking_puts_weight_on_the_better_member():
    rng = np.random.default_rng(1)
    good = np.log(rng.uniform(0.2, 0.3, 500))
    bad = good - 1.0
    weights = stacking_weights(np.column_stack([bad, good]))
    assert weights[1] > 0.95


def test_update_weights_moves_weight_toward_the_better_member():
    previous = np.array([0.5, 0.5])
    updated = update_weights(previous, [0.70, 0.68])
    assert updated[1] > 0.5 > updated[0]
    assert updated.sum() == pytest.approx(1.0)
    halfway = update_weights(previous, [0.70, 0.68], step=0.5)
    assert 0.5 < halfway[1] < updated[1]
    assert update_weights(previous, [0.7, 0.1], min_weight=0.05)[0] >= 0.05 / (1 + 0.05)


def test_ewm_update_follows_the_half_life():
    assert ewm_update(float("nan"), 0.7, halflife=10) == 0.7
    value = 1.0
    for _ in range(10):
        value = ewm_update(value, 0.0, halflife=10)
    assert value == pytest.approx(0.5)


def test_line_temperature_survives_the_artifact_round_trip(members, data):
    X_val, y_val = data[2], data[3]
    lines = np.floor(y_val) + 0.5
    ensemble = Ensemble.fit(list(members), X_val, y_val)
    for model in (*members, ensemble):
        model.line_temperature = 0.6
    ensemble = ensemble.with_weights(ensemble.weights)
    assert ensemble.line_temperature == 0.6
    for model in (*members, ensemble):
        restored = load_model(model.to_bytes())
        assert restored.line_temperature == 0.6
        np.testing.assert_array_equal(
            model.predict_proba(X_val, lines).p_over, restored.predict_proba(X_val, lines).p_over
        )
    raw = members[0].predict_proba_uncalibrated(X_val, lines)
    assert np.array_equal(members[0].predict_proba(X_val, lines).p_over, raw.p_over), "no book: the model's price"
    tempered = members[0].predict_proba(X_val, lines, 0.5)
    # Against a book at even odds, tempering pulls every price toward even odds.
    assert np.all(np.abs(tempered.p_over - 0.5) <= np.abs(raw.p_over - 0.5) + 1e-12)


def test_calibrate_lines_fits_a_temperature_on_validation_props(members, data):
    X_val, y_val = data[2], data[3]
    model = members[0]
    before = model.line_temperature
    try:
        temperature = model.calibrate_lines(X_val, np.floor(y_val) + 0.5, y_val, 0.5)
        assert model.line_temperature == temperature
        assert 0.02 <= temperature <= 3.0
    finally:
        model.line_temperature = before


OFFSET_COMMON = {
    "sport": "mlb",
    "stat": "home_runs",
    "family": "negbin",
    "schema": FeatureSchema.from_names(["baseline", "skill"]),
    "seed": 0,
    "offset_feature": "baseline",
}


def _offset_data(seed: int, n: int, season_level=0.0):
    """A baseline (the offset), a skill feature, and Poisson counts around baseline·e^(0.3·skill
    + season_level)."""
    rng = np.random.default_rng(seed)
    baseline = rng.uniform(5, 40, n)
    skill = rng.normal(size=n)
    level = season_level(rng, n) if callable(season_level) else season_level
    y = rng.poisson(baseline * np.exp(0.3 * skill + level)).astype(float)
    return np.column_stack([baseline, skill]), y, baseline * np.exp(0.3 * skill), level


def _fit_offset_members(X, y, split: int, *, n_estimators: int, **options):
    return [
        XGBoostDistModel.fit(
            X[:split],
            y[:split],
            X[split:],
            y[split:],
            config=XGBoostConfig(n_estimators=n_estimators, early_stopping_rounds=10),
            **OFFSET_COMMON,
            **options,
        ),
        TorchDistModel.fit(
            X[:split], y[:split], X[split:], y[split:], config=TorchConfig(epochs=15), **OFFSET_COMMON, **options
        ),
    ]


def test_offset_models_learn_a_correction_to_the_baseline():
    X, y, mean, _ = _offset_data(5, 1500)
    for model in _fit_offset_members(X, y, 1000, n_estimators=60):
        predicted = model.predict_params(X[1000:]).mean
        assert np.mean(np.abs(np.log(predicted / mean[1000:]))) < 0.15
        restored = load_model(model.to_bytes())
        assert restored.offset_feature == "baseline"
        np.testing.assert_allclose(restored.predict_params(X[1000:]).mean, predicted)
    with pytest.raises(ValueError, match="offset"):
        XGBoostDistModel.fit(X, y, X, y, **{**OFFSET_COMMON, "family": "normal"})


def test_a_training_offset_adjustment_removes_season_levels_from_what_the_members_learn():
    # Each training row's outcome carries a season level (known in hindsight, passed as the
    # adjustment) that the features do not show; the members must learn the skill effect
    # alone and predict at the baseline's level, with no adjustment at prediction time.
    X, y, truth, season_level = _offset_data(7, 3000, lambda rng, n: rng.choice([-0.3, 0.0, 0.4], n))
    adjustments = {"train_offset_adjustment": season_level[:2000], "validation_offset_adjustment": season_level[2000:]}
    for model in _fit_offset_members(X, y, 2000, n_estimators=80, **adjustments):
        predicted = model.predict_params(X[2000:]).mean
        assert abs(np.mean(np.log(predicted / truth[2000:]))) < 0.05
        assert np.mean(np.abs(np.log(predicted / truth[2000:]))) < 0.15
    with pytest.raises(ValueError, match="shape"):
        XGBoostDistModel.fit(X, y, X, y, **OFFSET_COMMON, train_offset_adjustment=season_level[:10])


def test_ensemble_weights_use_validation_props_only_when_there_are_enough(members, data):
    X_val, y_val = data[2], data[3]
    lines = np.floor(y_val) + 0.5
    by_distribution = Ensemble.fit(list(members), X_val, y_val)
    few = Ensemble.fit(list(members), X_val, y_val, line_X=X_val[:50], lines=lines[:50], line_actual=y_val[:50])
    np.testing.assert_array_equal(few.weights, by_distribution.weights)
    at_lines = Ensemble.fit(list(members), X_val, y_val, line_X=X_val, lines=lines, line_actual=y_val)
    assert at_lines.weights.sum() == pytest.approx(1.0)
    assert np.all(at_lines.weights >= 0)
