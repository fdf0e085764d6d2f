import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictions.engine import metrics
from predictions.engine.calibration import fit_line_temperature, temper
from predictions.engine.distributions import fit_dispersion_scale, log_pmf, prob_over_under_push

# A book at even odds at every line: the calibration's earlier form, and the setting of the
# first tests (lines near the median).
EVEN = 0.5


def _over_confident_props(n: int, seed: int):
    """A model whose mean error (sd 0.25 in log mean) is missing from its spread, priced at a
    sharper book's line (error sd 0.1): its P(over) is too far from 1/2."""
    rng = np.random.default_rng(seed)
    true_mean = rng.uniform(8, 30, n)
    r = 1 / 0.05
    actual = rng.negative_binomial(r, r / (r + true_mean)).astype(float)
    line = np.floor(true_mean * np.exp(0.1 * rng.standard_normal(n))) + 0.5
    model_mean = true_mean * np.exp(0.25 * rng.standard_normal(n))
    priced = prob_over_under_push("negbin", model_mean, 0.05, line)
    return priced, actual, line


def _log_loss(p_over, p_under, actual, line):
    went_over, settled = metrics.outcomes(actual, line)
    p = metrics.conditional_p_over(p_over, p_under)[settled]
    return metrics.log_loss(p, went_over[settled]), metrics.ece(p, went_over[settled])


def test_temperature_fitted_on_validation_improves_held_out_log_loss_and_ece():
    validation, val_actual, val_line = _over_confident_props(4000, seed=0)
    test, test_actual, test_line = _over_confident_props(4000, seed=1)
    temperature = fit_line_temperature(validation.p_over, validation.p_under, val_actual, val_line, EVEN)
    assert 0.05 < temperature < 0.9
    raw_loss, raw_ece = _log_loss(test.p_over, test.p_under, test_actual, test_line)
    tempered = temper(test.p_over, test.p_under, test.p_push, temperature, EVEN)
    loss, ece = _log_loss(tempered[0], tempered[1], test_actual, test_line)
    assert loss < raw_loss - 0.005
    assert ece < raw_ece / 2


def test_a_calibrated_model_keeps_temperature_near_one():
    rng = np.random.default_rng(2)
    mean = rng.uniform(5, 20, 5000)
    r = 1 / 0.1
    actual = rng.negative_binomial(r, r / (r + mean)).astype(float)
    line = np.floor(mean * np.exp(0.2 * rng.standard_normal(len(mean)))) + 0.5
    priced = prob_over_under_push("negbin", mean, 0.1, line)
    assert fit_line_temperature(priced.p_over, priced.p_under, actual, line, EVEN) == pytest.approx(1.0, abs=0.1)


def test_too_few_props_leave_the_temperature_at_one():
    priced, actual, line = _over_confident_props(50, seed=3)
    assert fit_line_temperature(priced.p_over, priced.p_under, actual, line, EVEN) == 1.0
    # Props without a book price are left out of the fit: none left, nothing to fit.
    priced, actual, line = _over_confident_props(4000, seed=3)
    assert fit_line_temperature(priced.p_over, priced.p_under, actual, line, np.nan) == 1.0


@settings(max_examples=200, deadline=None)
@given(p_over=st.floats(0.0, 1.0), push_share=st.floats(0.0, 1.0), temperature=st.floats(0.02, 3.0))
def test_tempered_prices_stay_probabilities_and_keep_the_push(p_over, push_share, temperature):
    p_push = push_share * (1 - p_over)
    p_under = 1 - p_over - p_push
    over, under, push = temper(np.array(p_over), np.array(p_under), np.array(p_push), temperature, EVEN)
    assert 0.0 <= float(over) <= 1.0 and 0.0 <= float(under) <= 1.0
    assert float(over + under + push) == pytest.approx(1.0, abs=1e-9)
    assert float(push) == pytest.approx(p_push)
    if p_over + p_under > 1e-6 and abs(p_over - p_under) > 1e-9:
        # The favourite stays the favourite: tempering never flips a side.
        assert (float(over) > float(under)) == (p_over > p_under)


def test_dispersion_scale_widens_a_too_narrow_spread():
    rng = np.random.default_rng(4)
    mean = rng.uniform(5, 25, 4000)
    r = 1 / 0.2
    y = rng.negative_binomial(r, r / (r + mean)).astype(float)
    scale = fit_dispersion_scale("negbin", mean, np.full_like(mean, 0.05), y)
    assert scale == pytest.approx(4.0, rel=0.25)
    assert log_pmf("negbin", mean, 0.05 * scale, y).sum() > log_pmf("negbin", mean, 0.05, y).sum()


def _book_priced_props(n: int, seed: int):
    """A model and a sharper book, each with its own error in the log mean, both priced at the
    book's line; the book's price is its own P(over | no push) (no margin), at lines that are
    sometimes far from the median (alternate lines), where a pull toward 1/2 is wrong."""
    rng = np.random.default_rng(seed)
    true_mean = rng.uniform(8, 30, n)
    r = 1 / 0.05
    actual = rng.negative_binomial(r, r / (r + true_mean)).astype(float)
    book_mean = true_mean * np.exp(0.05 * rng.standard_normal(n))
    line = np.floor(book_mean * np.exp(rng.choice([0.0, 0.0, -0.3, 0.3], n))) + 0.5
    book = prob_over_under_push("negbin", book_mean, 0.05, line)
    model = prob_over_under_push("negbin", true_mean * np.exp(0.06 * rng.standard_normal(n)), 0.05, line)
    return model, book.p_over / (book.p_over + book.p_under), actual, line


def test_pooling_with_the_books_price_beats_the_pull_toward_even_odds_off_the_median():
    validation, val_book, val_actual, val_line = _book_priced_props(6000, seed=4)
    test, test_book, test_actual, test_line = _book_priced_props(6000, seed=5)
    to_half = fit_line_temperature(validation.p_over, validation.p_under, val_actual, val_line, EVEN)
    pooled_t = fit_line_temperature(validation.p_over, validation.p_under, val_actual, val_line, anchor=val_book)
    assert 0.0 < pooled_t < 1.0
    half_loss, _ = _log_loss(*temper(test.p_over, test.p_under, test.p_push, to_half, EVEN)[:2], test_actual, test_line)
    pooled = temper(test.p_over, test.p_under, test.p_push, pooled_t, anchor=test_book)
    pooled_loss, pooled_ece = _log_loss(pooled[0], pooled[1], test_actual, test_line)
    book_loss, _ = _log_loss(test_book, 1 - test_book, test_actual, test_line)
    model_loss, _ = _log_loss(test.p_over, test.p_under, test_actual, test_line)
    assert pooled_loss < min(half_loss, book_loss, model_loss) - 0.001
    assert pooled_ece < 0.02


def test_the_anchor_is_the_book_at_t_zero_the_model_at_t_one_and_no_book_leaves_the_model():
    p_over, p_under, p_push = np.array([0.04, 0.3, 0.6]), np.array([0.96, 0.6, 0.3]), np.array([0.0, 0.1, 0.1])
    book = np.array([0.2, 0.5, 0.45])
    model = temper(p_over, p_under, p_push, 1.0, anchor=book)
    assert np.allclose(model[0], p_over) and np.allclose(model[1], p_under)
    nearly_book = temper(p_over, p_under, p_push, 1e-9, anchor=book)
    assert np.allclose(nearly_book[0] / (1 - p_push), book, atol=1e-6)
    assert np.allclose(nearly_book[2], p_push)
    no_book = temper(p_over, p_under, p_push, 0.3, anchor=np.array([np.nan, 0.5, np.nan]))
    assert np.array_equal(no_book[0][[0, 2]], p_over[[0, 2]]) and np.array_equal(no_book[1][[0, 2]], p_under[[0, 2]])
    even = temper(p_over, p_under, p_push, 0.3, anchor=EVEN)
    assert no_book[0][1] == even[0][1] and abs(even[0][0] - 0.5) < abs(p_over[0] - 0.5)


def test_an_alternate_line_is_not_shown_as_a_false_edge():
    """A model sure that a 20-point scorer stays under 30.5 (P(over) 0.04) against an
    alternate over at 4.50 / under 1.20: pulled toward 1/2 the over showed a large edge; pooled
    with the book's price (about 0.21) it shows none."""
    priced = prob_over_under_push("negbin", np.array([20.0]), 0.03, np.array([30.5]))
    over_odds, under_odds = np.array([4.5]), np.array([1.2])
    book = (1 / over_odds) / (1 / over_odds + 1 / under_odds)
    toward_half = temper(priced.p_over, priced.p_under, priced.p_push, 0.24, EVEN)
    pooled = temper(priced.p_over, priced.p_under, priced.p_push, 0.24, anchor=book)
    half_edge, half_over = metrics.best_side_edges(*toward_half[:2], over_odds, under_odds)
    edge, _ = metrics.best_side_edges(*pooled[:2], over_odds, under_odds)
    assert half_over[0] and half_edge[0] > 0.3
    assert edge[0] < 0.05
    assert priced.p_over[0] < pooled[0][0] < book[0]
