import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from predictions.engine import metrics


def test_flat_stake_profit_wins_odds_minus_one_loses_the_stake_and_refunds_a_push():
    profit = metrics.flat_stake_profit(
        bet_over=[True, True, False, False, True],
        over_decimal_odds=[1.9, 1.9, 2.1, 2.1, 1.9],
        under_decimal_odds=[2.0, 2.0, 1.8, 1.8, 2.0],
        actual=[25, 24, 3, 5, 7],
        line=[24.5, 24.5, 4.5, 4.5, 7],
    )
    np.testing.assert_allclose(profit, [0.9, -1.0, 0.8, -1.0, 0.0])


def test_flat_stake_roi_is_the_mean_profit_per_bet_with_pushes_in_the_denominator():
    roi = metrics.flat_stake_roi([0.9, -1.0, 0.8, -1.0, 0.0])
    assert roi.n_bets == 5
    assert roi.n_pushes == 1
    assert roi.roi == pytest.approx(-0.06)
    assert roi.standard_error == pytest.approx(np.std([0.9, -1.0, 0.8, -1.0, 0.0], ddof=1) / np.sqrt(5))
    low, high = roi.interval95
    assert low == pytest.approx(-0.06 - 1.959964 * roi.standard_error)
    assert high == pytest.approx(-0.06 + 1.959964 * roi.standard_error)


def test_flat_stake_roi_without_bets_is_nan():
    roi = metrics.flat_stake_roi([])
    assert roi.n_bets == 0
    assert np.isnan(roi.roi)
    assert np.isnan(roi.standard_error)
    assert np.isnan(metrics.flat_stake_roi([0.9]).standard_error)


def test_best_side_edges_prices_each_side_conditional_on_no_push():
    edge, bet_over = metrics.best_side_edges(
        p_over=[0.55, 0.40, 0.45],
        p_under=[0.45, 0.60, 0.45],
        over_decimal_odds=[1.9, 1.9, 2.0],
        under_decimal_odds=[1.9, 1.9, 2.0],
    )
    np.testing.assert_allclose(edge, [0.55 * 1.9 - 1, 0.60 * 1.9 - 1, 0.0])
    np.testing.assert_array_equal(bet_over, [True, False, True])


@given(
    p_over=st.floats(0.01, 0.99),
    over_decimal_odds=st.floats(1.2, 4.0),
    under_decimal_odds=st.floats(1.2, 4.0),
)
def test_the_chosen_side_has_the_larger_edge_and_a_fair_price_has_zero_edge(
    p_over, over_decimal_odds, under_decimal_odds
):
    edge, bet_over = metrics.best_side_edges([p_over], [1 - p_over], [over_decimal_odds], [under_decimal_odds])
    other = (1 - p_over) * under_decimal_odds - 1 if bet_over[0] else p_over * over_decimal_odds - 1
    assert edge[0] >= other - 1e-12
    fair, _ = metrics.best_side_edges([p_over], [1 - p_over], [1 / p_over], [1 / (1 - p_over)])
    assert fair[0] == pytest.approx(0.0, abs=1e-9)
