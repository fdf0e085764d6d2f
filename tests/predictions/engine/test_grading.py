import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from predictions.engine import grading


@pytest.mark.parametrize(
    ("value", "line", "expected"),
    [(25, 24.5, "over"), (24, 24.5, "under"), (24, 24, "push"), (0, 0.5, "under")],
)
def test_outcome(value, line, expected):
    assert grading.outcome(value, line) == expected


def test_outcome_rejects_nan():
    with pytest.raises(ValueError, match="finite"):
        grading.outcome(float("nan"), 1.5)


def test_grade_uses_the_probability_conditional_on_no_push():
    graded = grading.grade(p_over=0.45, p_under=0.45, value=10, line=9)
    assert graded.outcome == "over"
    assert graded.log_loss == pytest.approx(math.log(2))
    assert graded.brier == pytest.approx(0.25)


def test_a_push_has_no_binary_metrics():
    graded = grading.grade(p_over=0.4, p_under=0.4, value=9, line=9)
    assert graded == grading.GradedProp("push", None, None, None, None)


def test_hit_is_the_favoured_side_winning():
    assert grading.grade(p_over=0.7, p_under=0.3, value=30, line=24.5).hit is True
    assert grading.grade(p_over=0.7, p_under=0.3, value=20, line=24.5).hit is False


def test_clv_of_the_favoured_side_against_the_fair_close():
    # Took over at 2.10; the close was 1.80 / 2.05 on the same line: fair P(over) = 0.5325.
    graded = grading.grade(
        p_over=0.6,
        p_under=0.4,
        value=30,
        line=24.5,
        taken_over_odds=2.10,
        taken_under_odds=1.75,
        closing_line=24.5,
        closing_over_odds=1.80,
        closing_under_odds=2.05,
    )
    fair_over = (1 / 1.80) / (1 / 1.80 + 1 / 2.05)
    assert graded.clv == pytest.approx(2.10 * fair_over - 1)
    moved = grading.grade(
        p_over=0.6,
        p_under=0.4,
        value=30,
        line=24.5,
        taken_over_odds=2.10,
        taken_under_odds=1.75,
        closing_line=25.5,
        closing_over_odds=1.9,
        closing_under_odds=1.9,
    )
    assert moved.clv is None


@given(st.floats(0.01, 0.99), st.floats(0, 50), st.floats(0, 50))
def test_log_loss_and_brier_are_bounded(p_over, value, line):
    graded = grading.grade(p_over=p_over, p_under=1 - p_over, value=value, line=line)
    if graded.outcome != "push":
        assert 0 <= graded.brier <= 1
        assert 0 <= graded.log_loss <= -math.log(1e-6)


def test_accumulate_and_round_trip():
    props = [grading.grade(p_over=0.6, p_under=0.4, value=v, line=10.5) for v in (12, 8, 11, 15)] + [
        grading.grade(p_over=0.5, p_under=0.4, value=10, line=10)
    ]
    metrics = grading.accumulate(grading.LiveMetrics(), props, halflife=10)
    assert (metrics.n_graded, metrics.n_push, metrics.hits) == (4, 1, 3)
    assert metrics.log_loss == pytest.approx((3 * -math.log(0.6) - math.log(0.4)) / 4)
    assert grading.LiveMetrics.from_dict(metrics.as_dict()) == metrics


def test_ewm_follows_recent_form():
    good = [grading.grade(p_over=0.8, p_under=0.2, value=20, line=10.5)] * 50
    bad = [grading.grade(p_over=0.8, p_under=0.2, value=0, line=10.5)] * 10
    metrics = grading.accumulate(grading.LiveMetrics(), good + bad, halflife=5)
    assert metrics.ewm_log_loss > metrics.log_loss


def test_drift_needs_enough_props_and_a_margin():
    bad = [grading.grade(p_over=0.8, p_under=0.2, value=0, line=10.5)] * 30
    metrics = grading.accumulate(grading.LiveMetrics(), bad, halflife=10)
    assert grading.drift_detected(metrics, validation_log_loss=0.69, margin=0.05, min_graded=20)
    assert not grading.drift_detected(metrics, validation_log_loss=0.69, margin=0.05, min_graded=100)
    assert not grading.drift_detected(metrics, validation_log_loss=2.0, margin=0.05, min_graded=20)


def test_paired_comparison_interval():
    rng = np.random.default_rng(0)
    champion = rng.uniform(0.5, 0.8, 2000)
    challenger = champion - 0.02 + rng.normal(0, 0.05, 2000)
    comparison = grading.paired_log_loss_difference(challenger, champion)
    assert comparison.ci_low < -0.02 < comparison.ci_high
    assert comparison.challenger_better
    same = grading.paired_log_loss_difference(champion, champion + rng.normal(0, 0.05, 2000))
    assert not same.challenger_better
    with pytest.raises(ValueError):
        grading.paired_log_loss_difference(champion[:3], champion[:4])
