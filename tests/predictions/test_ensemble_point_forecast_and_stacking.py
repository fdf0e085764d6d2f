"""The ensemble's point forecast (the predictive median, scored by MAE) and its validation
weights (stacking on the log score, shrunk toward equal weights by a Dirichlet prior; without
the prior every single member is among the candidates). Engine only, no database."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from predictions.engine import metrics
from predictions.engine.distributions import prob_over_under_push
from predictions.engine.features import FeatureSchema
from predictions.engine.models import (
    STACKING_PRIOR,
    DistParams,
    Ensemble,
    median_bracket,
    mixture_log_score,
    predictive_median,
    stacking_weights,
)
from predictions.engine.models.base import _DistModel
from predictions.engine.simulate import SimConfig, simulate_league
from predictions.engine.training import build_game_dataset, quick_train_config, time_split, train_stat

SCHEMA = FeatureSchema.from_names(["mean"])


class FixedModel(_DistModel):
    """A member whose mean is its one feature times ``scale`` and whose dispersion is fixed."""

    def __init__(self, kind: str, *, family: str = "negbin", scale: float = 1.0, dispersion: float = 0.1):
        self.kind, self.sport, self.stat, self.family, self.schema = kind, "mlb", "home_runs", family, SCHEMA
        self.scale, self.dispersion = scale, dispersion

    def predict_params(self, X) -> DistParams:
        mean = np.asarray(X, float).reshape(-1, 1)[:, 0] * self.scale
        return DistParams(mean=mean, dispersion=np.full_like(mean, self.dispersion))


def _median(family, mean, dispersion):
    mean, dispersion = np.asarray(mean, float), np.asarray(dispersion, float)
    return predictive_median(
        lambda lines: prob_over_under_push(family, mean, dispersion, lines).p_over,
        *median_bracket(family, mean, dispersion),
    )


def test_median_of_a_negative_binomial_matches_scipy():
    mean = np.array([0.2, 3.5, 20.0, 31.7, 180.0])
    alpha = np.array([0.05, 1e-9, 0.1, 0.3, 0.02])
    r = 1.0 / np.maximum(alpha, 1e-6)
    expected = stats.nbinom.median(r, r / (r + mean))
    assert _median("negbin", mean, alpha).tolist() == expected.tolist()


def test_median_of_a_poisson_by_hand():
    # Poisson(3.5): P(X <= 2) = 0.3208, P(X <= 3) = 0.5366, so the median is 3 (mean 3.5).
    assert _median("negbin", [3.5], [1e-9]).tolist() == [3.0]


def test_median_of_the_rounded_normal_is_the_rounded_mean():
    # P(X <= k) = Phi((k + 0.5 - mu) / sigma) >= 1/2 first at k = ceil(mu - 0.5).
    mean = np.array([50.3, 50.7, -3.7, 0.0, 250.2])
    assert _median("normal", mean, np.full(5, 40.0)).tolist() == np.ceil(mean - 0.5).tolist()


def test_the_median_of_a_skewed_count_is_below_its_mean_and_beats_it_on_absolute_error():
    rng = np.random.default_rng(0)
    mean, alpha = 8.0, 0.5
    r = 1.0 / alpha
    draws = rng.negative_binomial(r, r / (r + mean), size=200_000)
    median = _median("negbin", [mean], [alpha])[0]
    assert median < mean
    assert metrics.mae(np.full(len(draws), median), draws) < metrics.mae(np.full(len(draws), mean), draws)


def test_a_line_temperature_leaves_a_models_median_unchanged():
    X = np.array([[0.5], [4.0], [12.3], [25.0]])
    model = FixedModel("xgboost", dispersion=0.2)
    untempered = model.predict_median(X)
    model.line_temperature = 0.3
    assert model.predict_median(X).tolist() == untempered.tolist()


def test_the_ensemble_median_lies_between_its_members_and_equals_a_member_it_weighs_fully():
    X = np.linspace(0.5, 60.0, 40).reshape(-1, 1)
    low, high = FixedModel("xgboost", scale=0.8), FixedModel("torch", scale=1.3, dispersion=0.05)
    high.line_temperature = 0.7
    mixed = Ensemble([low, high], [0.4, 0.6], line_temperature=1.2).predict_median(X)
    assert np.all(mixed >= low.predict_median(X)) and np.all(mixed <= high.predict_median(X))
    assert Ensemble([low, high], [0.0, 1.0]).predict_median(X).tolist() == high.predict_median(X).tolist()


def test_the_ensemble_median_is_the_line_it_prices_at_even_odds():
    X = np.linspace(1.0, 40.0, 25).reshape(-1, 1)
    ensemble = Ensemble([FixedModel("xgboost", scale=0.9), FixedModel("torch", scale=1.1)], [0.5, 0.5])
    median = ensemble.predict_median(X)
    assert np.all(ensemble.predict_proba(X, median - 0.5).p_over > 0.5)
    assert np.all(ensemble.predict_proba(X, median + 0.5).p_over <= 0.5)


def test_unpenalised_stacking_reaches_a_dominant_member_exactly():
    # Member 0 is better on every row: the optimum is the vertex, which EM approaches slowly.
    log_pmf = np.column_stack([np.full(500, np.log(0.30)), np.full(500, np.log(0.29))])
    weights = stacking_weights(log_pmf, prior_strength=0.0)
    assert weights.tolist() == [1.0, 0.0]


def test_the_prior_keeps_close_members_near_equal_weights_and_follows_a_clear_winner():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.3, 0.7, 2000)
    close = np.log(np.column_stack([p, p * rng.uniform(0.98, 1.02, 2000)]))
    assert stacking_weights(close) == pytest.approx([0.5, 0.5], abs=0.05)
    clear = np.log(np.column_stack([p, 0.5 * p]))
    assert stacking_weights(clear)[0] > 0.95


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=5, max_value=200), st.integers(min_value=0, max_value=2**32 - 1))
def test_penalised_stacking_maximises_its_objective(n_rows, seed):
    rng = np.random.default_rng(seed)
    log_pmf = np.log(rng.uniform(1e-3, 1.0, size=(n_rows, 2)))

    def objective(w):
        return mixture_log_score(log_pmf, w) + STACKING_PRIOR * np.log(w).sum()

    weights = stacking_weights(log_pmf)
    grid = [np.array([a, 1 - a]) for a in np.linspace(0.001, 0.999, 999)]
    assert objective(weights) >= max(objective(w) for w in grid) - 1e-6


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=5, max_value=200),
    st.integers(min_value=2, max_value=4),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_unpenalised_stacking_never_scores_below_the_best_single_member(n_rows, n_members, seed):
    rng = np.random.default_rng(seed)
    log_pmf = np.log(rng.uniform(1e-4, 1.0, size=(n_rows, n_members)) ** rng.uniform(0.2, 3.0, size=n_members))
    weights = stacking_weights(log_pmf, prior_strength=0.0)
    assert weights.min() >= 0 and weights.sum() == pytest.approx(1.0)
    best_single = max(mixture_log_score(log_pmf, np.eye(n_members)[k]) for k in range(n_members))
    assert mixture_log_score(log_pmf, weights) >= best_single - 1e-12


def _line_log_loss(model, X, lines, actual) -> float:
    prices = model.predict_proba(X, lines, BOOK)
    went_over, settled = metrics.outcomes(actual, lines)
    return metrics.log_loss(metrics.conditional_p_over(prices.p_over, prices.p_under)[settled], went_over[settled])


# The book's price at each line: even odds (its lines are its medians).
BOOK = 0.5


@pytest.mark.parametrize("truth_scale", [0.85, 1.0, 1.25])
def test_an_unpenalised_ensemble_is_never_worse_than_its_best_member_on_validation(truth_scale):
    rng = np.random.default_rng(7)
    X = rng.uniform(2.0, 30.0, size=(600, 1))
    actual = rng.poisson(X[:, 0] * truth_scale).astype(float)
    lines = np.floor(X[:, 0] * rng.lognormal(0.0, 0.1, size=600)) + 0.5
    members = [FixedModel("xgboost", scale=0.9, dispersion=0.05), FixedModel("torch", scale=1.2, dispersion=0.02)]
    for member in members:
        member.calibrate_lines(X, lines, actual, BOOK)
    ensemble = Ensemble.fit(
        members, X, actual, line_X=X, lines=lines, line_actual=actual, line_anchor=BOOK, prior_strength=0.0
    )
    ensemble.calibrate_lines(X, lines, actual, BOOK)
    best_member = min(_line_log_loss(member, X, lines, actual) for member in members)
    assert _line_log_loss(ensemble, X, lines, actual) <= best_member + 1e-12


def test_train_stat_scores_mae_on_the_predictive_median():
    league = simulate_league(SimConfig("nhl", n_seasons=2, games_per_team=20, n_teams=4, seed=2))
    dataset = build_game_dataset(league.stat_lines, league.games, league.props, sport="nhl", stat="shots_on_goal")
    result = train_stat(dataset, seed=0, config=quick_train_config())
    evaluation = result.evaluation
    for name in ("xgboost", "torch", "ensemble", "oracle"):
        point = evaluation.point_forecasts[name]
        assert np.array_equal(point, np.round(point))
        assert result.metrics[name]["mae"] == pytest.approx(metrics.mae(point, evaluation.actual))
    assert np.array_equal(evaluation.point_forecasts["book"], evaluation.line)
    assert np.array_equal(evaluation.point_forecasts["recent_average"], evaluation.predictions["recent_average"].mean)
    split = time_split(dataset.dates, validation_fraction=0.15, test_fraction=0.2)
    assert len(evaluation.actual) == int(split.test[dataset.props.row_index].sum())
