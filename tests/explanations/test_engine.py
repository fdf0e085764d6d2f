"""The explanation engine without a database: exact member values, the ensemble's two
outputs, additivity on random inputs, labels, the quality score and the levels."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explanations.engine import quality
from explanations.engine.combine import SCALAR_ROWS
from explanations.engine.explainer import LEVELS, EnsembleExplainer, check_level
from explanations.engine.labels import default_feature_names, label_table, reason
from predictions.engine.features import FeatureSchema
from predictions.engine.models import Ensemble, TorchConfig, TorchDistModel, XGBoostConfig, XGBoostDistModel
from tests.support import negbin_rows

SCHEMA = FeatureSchema.from_names(["skill", "minutes", "noise"])


def _fit(family: str, offset_feature=None, seed: int = 1):
    X, y = negbin_rows(seed, 1200, intercept=1.5, dispersion=0.1, nan_every=17)
    if offset_feature:
        X[:, 1] = np.abs(X[:, 1]) + 0.5
    if family == "normal":
        y = 40 + 10 * X[:, 0] + np.random.default_rng(seed).normal(0, 5, len(y))
    common = {"sport": "nba", "stat": "points", "family": family, "schema": SCHEMA, "seed": seed}
    if offset_feature:
        common["offset_feature"] = offset_feature
    xgboost_model = XGBoostDistModel.fit(
        X[:900], y[:900], X[900:], y[900:], config=XGBoostConfig(n_estimators=40, early_stopping_rounds=40), **common
    )
    torch_model = TorchDistModel.fit(
        X[:900], y[:900], X[900:], y[900:], config=TorchConfig(epochs=3, device="cpu"), **common
    )
    ensemble = Ensemble([xgboost_model, torch_model], [0.6, 0.4])
    ensemble.line_temperature = 0.8
    torch_model.line_temperature = 0.9
    return ensemble, X


@pytest.fixture(scope="module")
def counts():
    ensemble, X = _fit("negbin")
    return EnsembleExplainer(ensemble, X[:300]), X


@pytest.fixture(scope="module")
def with_offset():
    ensemble, X = _fit("negbin", offset_feature="minutes", seed=2)
    return EnsembleExplainer(ensemble, X[:300]), X


@pytest.fixture(scope="module")
def yardage():
    ensemble, X = _fit("normal", seed=3)
    return EnsembleExplainer(ensemble, X[:300]), X


def _served(explainer):
    from predictions.serving import ServedModel

    ensemble = explainer.ensemble
    return ServedModel(
        version_id=0,
        name="nba.points.ensemble",
        version=1,
        sport="nba",
        stat="points",
        schema=ensemble.schema,
        ensemble=ensemble,
        weights_id=None,
    )


def test_tree_values_equal_shap_tree_explainer(counts):
    import shap

    explainer, X = counts
    rows = X[900:1000]
    ours = explainer.members[0].explain(rows)
    tree = shap.TreeExplainer(explainer.ensemble.members[0].booster)
    np.testing.assert_allclose(ours.values, tree.shap_values(rows), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.base, float(np.ravel(tree.expected_value)[0]), atol=1e-6)


def test_network_values_equal_shap_deep_explainer(counts):
    import shap
    import torch

    explainer, X = counts
    member = explainer.ensemble.members[1]
    rows = X[900:920]
    ours = explainer.members[1].explain(rows)

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = member.network

        def forward(self, x):
            return self.net(x)[:, :1]

    deep = shap.DeepExplainer(Head(), torch.from_numpy(member._standardise(X[:100])))
    theirs = np.asarray(deep.shap_values(torch.from_numpy(member._standardise(rows))), np.float64).reshape(
        len(rows), -1
    )
    np.testing.assert_allclose(ours.values, theirs, atol=1e-6)


@pytest.mark.parametrize("case", ["counts", "with_offset", "yardage"])
def test_members_and_both_outputs_are_additive_on_held_out_rows(case, request):
    explainer, X = request.getfixturevalue(case)
    rows = X[900:1100]
    lines = np.round(explainer.predict(rows, np.full(len(rows), 0.5))["mean"]) + 0.5
    anchors = np.where(np.arange(len(rows)) % 2, 0.5, np.nan)
    batch = explainer.explain(rows, lines, anchors)
    tree, network = batch.members
    assert tree.additivity_error.max() <= 1e-4
    assert network.additivity_error.max() <= 1e-4
    # The outputs explained are the numbers serving serves (its numpy forward of the network)...
    served = _served(explainer).score(rows, lines, anchors)
    np.testing.assert_allclose(batch.p_over.value, served["p_over"], atol=1e-12)
    np.testing.assert_allclose(batch.mean.value, served["mean"], rtol=1e-9)
    # ...which equal the engine's torch forward within float32 rounding (tests/predictions/test_serving.py).
    engine = explainer.ensemble.predict_proba(rows, lines, anchors)
    np.testing.assert_allclose(batch.p_over.value, engine.p_over, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batch.mean.value, engine.mean, rtol=1e-5)
    assert np.max(batch.mean.additivity_error / np.maximum(np.abs(batch.mean.value), 1)) <= 1e-4
    assert batch.p_over.additivity_error.max() <= 1e-9


@pytest.mark.parametrize("case", ["counts", "with_offset", "yardage"])
def test_members_explain_the_parameters_they_serve(case, request):
    explainer, X = request.getfixturevalue(case)
    rows = X[900:960]
    tree, network = explainer.members
    tree_model, network_model = explainer.ensemble.members
    # The tree's mean comes from the DMatrix its TreeSHAP reads: inplace_predict's, bit for bit.
    values, params = tree.explain_served(rows)
    np.testing.assert_array_equal(params.mean, tree_model.predict_params(rows).mean)
    np.testing.assert_array_equal(params.dispersion, tree_model.predict_params(rows).dispersion)
    np.testing.assert_array_equal(values.values, tree.explain(rows, params.mean).values)
    # The network's is serving's numpy forward: torch's within float32 rounding.
    values, params = network.explain_served(rows)
    np.testing.assert_allclose(params.mean, network_model.predict_params(rows).mean, rtol=1e-5)
    np.testing.assert_allclose(params.dispersion, network_model.predict_params(rows).dispersion, rtol=1e-5)
    np.testing.assert_array_equal(values.values, network.explain(rows, params.mean).values)


@pytest.mark.parametrize("case", ["counts", "yardage"])
def test_one_row_is_priced_as_serving_prices_one_prop(case, request):
    explainer, X = request.getfixturevalue(case)
    served = _served(explainer)
    for index, anchor in [(900, None), (901, 0.45), (902, 0.6)]:
        row = X[index : index + 1]
        line = float(np.round(served.score(row, np.array([0.5]))["mean"][0]))
        for at in (line, line + 0.5):  # an integer line can push
            anchors = None if anchor is None else np.array([anchor])
            one = served.score(row, np.array([at]), anchors)
            batch = explainer.explain(row, at, anchors)
            assert batch.p_over.value[0] == pytest.approx(one["p_over"][0], abs=1e-12)
            assert batch.mean.value[0] == pytest.approx(one["mean"][0], rel=1e-12)
            predicted = explainer.predict(row, [at], anchors)
            for name in ("mean", "p_over", "p_under", "p_push"):
                assert predicted[name][0] == pytest.approx(one[name][0], rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("case", ["counts", "yardage"])
def test_pricing_row_by_row_equals_the_array_path(case, request):
    explainer, X = request.getfixturevalue(case)
    rows = X[900:940]
    means, dispersions = explainer.member_params(rows)
    lines = np.round(means.mean(axis=1)) + np.where(np.arange(len(rows)) % 2, 0.0, 0.5)
    anchors = np.where(np.arange(len(rows)) % 3, 0.55, np.nan)
    assert len(rows) > SCALAR_ROWS
    together = explainer.pricing.prices(means, dispersions, lines, anchors)
    assert together["p_push"].max() > 0
    for i in range(len(rows)):
        one = explainer.pricing.prices(means[i : i + 1], dispersions[i : i + 1], lines[i : i + 1], anchors[i : i + 1])
        for name, values in together.items():
            assert one[name][0] == pytest.approx(values[i], rel=1e-12, abs=1e-12), name


def test_offset_feature_carries_the_log_offset(with_offset):
    explainer, X = with_offset
    rows = X[900:960]
    for member in explainer.members:
        values = member.explain(rows)
        # The base is one number for every row: the offset's move belongs to its feature.
        assert np.ptp(values.base) < 1e-6
        assert values.additivity_error.max() <= 1e-4
    tree = explainer.members[0].explain(rows)
    booster_values = explainer.ensemble.members[0].booster.predict(
        explainer.members[0]._matrix(rows)[0], pred_contribs=True
    )
    log_offset = np.log(np.maximum(rows[:, 1], 0.1))
    np.testing.assert_allclose(
        tree.values[:, 1] - booster_values[:, 1], log_offset - explainer.members[0].offset_base, atol=1e-6
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.just(3)),
        elements=st.one_of(st.floats(-6, 6), st.just(np.nan)),
    ),
    line=st.sampled_from([0.5, 2.0, 4.5, 7.0, 12.5]),
    anchor=st.one_of(st.none(), st.floats(0.05, 0.95)),
)
def test_additivity_holds_on_random_inputs(counts, rows, line, anchor):
    explainer, _ = counts
    batch = explainer.explain(rows, np.full(len(rows), line), None if anchor is None else np.full(len(rows), anchor))
    for member in batch.members:
        assert np.all(member.additivity_error <= 1e-4)
    assert np.all(batch.mean.additivity_error <= 1e-4 * np.maximum(1.0, batch.mean.value))
    assert np.all(batch.p_over.additivity_error <= 1e-9)
    assert np.all((batch.p_over.value >= 0) & (batch.p_over.value <= 1))
    # P(over) rises with each member's mean: where every member moves the same way, each
    # feature's two attributions share a sign.
    moves = np.column_stack([np.sign(m.values.sum(axis=1)) for m in batch.members])
    agree = np.all(moves == moves[:, :1], axis=1)
    same_sign = np.sign(batch.p_over.values) * np.sign(batch.mean.values) >= 0
    assert same_sign[agree].all()


def test_p_over_attribution_for_no_move_uses_the_derivative(counts):
    explainer, X = counts
    row = X[:1].copy()
    batch = explainer.explain(row, 4.5)
    assert np.isfinite(batch.p_over.values).all()


def test_every_feature_of_every_default_model_has_a_label():
    schemas = default_feature_names()
    assert len(schemas) == 15
    for (sport, stat), names in schemas.items():
        table = label_table(sport, stat)
        missing = [name for name in names if name not in table]
        assert not missing, f"{sport}/{stat} lacks labels for {missing}"
        assert all(table[name].text for name in names)


def test_reason_reads_like_a_sentence():
    text = reason(
        sport="nba",
        stat="points",
        feature="opponent_allowed_points_last30",
        value=116.1,
        typical=112.0,
        contribution=1.8,
        output="mean",
    )
    assert text == "Opponent allows per game, last 30 games (points): 116.1 points, 4.1 more than typical: +1.80 points"


def test_quality_score_is_in_unit_interval_and_moves_with_what_it_measures():
    values = np.array([[3.0, 0.1, 0.1, 0.1, 0.1], [1.0, 1.0, 1.0, 1.0, 1.0]])
    coverage = quality.coverage(values)
    assert coverage[0] > coverage[1]
    exact = quality.additivity_component(np.zeros(2), np.zeros(2), np.ones(2))
    broken = quality.additivity_component(np.full(2, 0.5), np.zeros(2), np.ones(2))
    assert np.all(exact == 1) and np.all(broken == 0)
    scores = quality.quality_score(additivity=exact, stability=np.array([1.0, 0.2]), coverage_share=coverage)
    assert np.all((scores >= 0) & (scores <= 1)) and scores[0] > scores[1]
    assert quality.jaccard_top(values[:1], values[:1])[0] == 1.0


def test_resampled_stability_is_a_fraction(counts):
    explainer, X = counts
    stability = explainer.resampled_stability(X[900:905])
    assert stability.shape == (5,) and np.all((stability >= 0) & (stability <= 1))


def test_each_level_returns_the_fields_it_promises(counts):
    explainer, X = counts
    batch = explainer.explain(X[950:951], 4.5, 0.55)
    fields = {
        "fast": {"outputs", "top", "reasons", "quality", "level", "line"},
        "standard": {"contributions", "members"},
        "detailed": {"interactions", "percentiles"},
        "comprehensive": {"what_if_curves"},
    }
    promised = set()
    for level in LEVELS:
        promised |= fields[level]
        payload = explainer.payload(batch, 0, level=level, sport="nba", stat="points")
        assert promised <= set(payload), level
        assert payload["level"] == level
        assert 0 <= payload["quality"]["score"] <= 1
        assert len(payload["top"]["up"]) <= 3 and len(payload["top"]["down"]) <= 3
    assert len(payload["contributions"]) == 3
    assert {"mean", "p_over"} == set(payload["outputs"])
    assert payload["outputs"]["p_over"]["label"] == "P(over 4.5)"
    curve = next(iter(payload["what_if_curves"].values()))
    assert len(curve["x"]) == len(curve["p_over"]) > 1
    with pytest.raises(ValueError, match="unknown level"):
        check_level("verbose")
