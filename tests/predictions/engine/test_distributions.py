import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from predictions.engine.distributions import fit_dispersion, log_pmf, ppf, prob_over_under_push

means = st.floats(min_value=0.05, max_value=400.0)
negbin_alpha = st.floats(min_value=0.0, max_value=5.0)
normal_phi = st.floats(min_value=0.05, max_value=60.0)
half_or_whole_lines = st.integers(min_value=-20, max_value=900).map(lambda twice: twice / 2)


@settings(max_examples=300, deadline=None)
@given(
    family_and_dispersion=st.one_of(
        st.tuples(st.just("negbin"), negbin_alpha), st.tuples(st.just("normal"), normal_phi)
    ),
    mean=means,
    line=half_or_whole_lines,
)
def test_over_under_push_are_probabilities_that_sum_to_one(family_and_dispersion, mean, line):
    family, dispersion = family_and_dispersion
    result = prob_over_under_push(family, mean, dispersion, line)
    for p in (result.p_over, result.p_under, result.p_push):
        assert 0.0 <= float(p) <= 1.0
    assert float(result.p_over + result.p_under + result.p_push) == pytest.approx(1.0, abs=1e-9)
    if line != np.floor(line):
        assert float(result.p_push) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    family_and_dispersion=st.one_of(
        st.tuples(st.just("negbin"), negbin_alpha), st.tuples(st.just("normal"), normal_phi)
    ),
    mean=means,
    low_twice=st.integers(min_value=-10, max_value=600),
    step=st.integers(min_value=1, max_value=40),
)
def test_p_over_falls_and_p_under_rises_as_the_line_rises(family_and_dispersion, mean, low_twice, step):
    family, dispersion = family_and_dispersion
    low = prob_over_under_push(family, mean, dispersion, low_twice / 2)
    high = prob_over_under_push(family, mean, dispersion, (low_twice + step) / 2)
    assert float(high.p_over) <= float(low.p_over) + 1e-12
    assert float(high.p_under) >= float(low.p_under) - 1e-12


def test_negative_binomial_matches_scipy_and_pushes_on_integer_lines():
    mean, alpha = np.array([3.2, 18.0]), np.array([0.15, 0.04])
    r = 1 / alpha
    p = r / (r + mean)
    result = prob_over_under_push("negbin", mean, alpha, np.array([3.0, 17.5]))
    assert result.p_under[0] == pytest.approx(stats.nbinom.cdf(2, r[0], p[0]))
    assert result.p_push[0] == pytest.approx(stats.nbinom.pmf(3, r[0], p[0]))
    assert result.p_over[1] == pytest.approx(stats.nbinom.sf(17, r[1], p[1]))
    assert result.p_push[1] == 0.0


def test_zero_alpha_is_poisson():
    result = prob_over_under_push("negbin", 2.5, 0.0, 2.5)
    assert float(result.p_over) == pytest.approx(stats.poisson.sf(2, 2.5))


def test_log_pmf_sums_to_one_over_the_support():
    support = np.arange(-200, 400)
    for family, mean, dispersion in (("negbin", 7.0, 0.3), ("normal", 60.0, 20.0)):
        total = np.exp(log_pmf(family, mean, dispersion, support)).sum()
        assert total == pytest.approx(1.0, abs=1e-9)


def test_fitted_dispersion_recovers_the_generating_value():
    rng = np.random.default_rng(3)
    mean = rng.uniform(2, 20, 20000)
    draws = ppf("negbin", mean, 0.25, rng.random(20000))
    assert fit_dispersion("negbin", mean, draws) == pytest.approx(0.25, rel=0.1)
    yards = ppf("normal", mean * 10, 15.0, rng.random(20000))
    assert fit_dispersion("normal", mean * 10, yards) == pytest.approx(15.0, rel=0.05)


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError, match="unknown distribution family"):
        prob_over_under_push("gamma", 1.0, 1.0, 0.5)
