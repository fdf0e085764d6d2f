"""The portfolio engine: known answers, agreement with cvxpy, limits on every output."""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolios.engine import (
    AnnealSettings,
    Limits,
    Opportunity,
    RunSettings,
    anneal,
    compile_constraints,
    devig,
    estimate_correlation,
    kelly_fraction,
    nearest_correlation,
    optimize,
    scenario_returns,
    solve_continuous,
    utility,
)


def exact_two_outcome_returns(odds_a, p_a, odds_b, p_b):
    """All four joint outcomes of two independent bets as weighted scenarios (repeated rows)."""
    rows, weights = [], []
    for win_a, win_b in itertools.product([True, False], repeat=2):
        rows.append([odds_a - 1 if win_a else -1, odds_b - 1 if win_b else -1])
        weights.append((p_a if win_a else 1 - p_a) * (p_b if win_b else 1 - p_b))
    counts = np.round(np.array(weights) * 10_000).astype(int)
    return np.repeat(np.array(rows, dtype=float), counts, axis=0)


def test_single_kelly_matches_the_formula():
    assert kelly_fraction(probability=0.6, decimal_odds=2.0) == pytest.approx(0.2)
    assert kelly_fraction(probability=0.4, decimal_odds=2.0) == 0.0
    returns = np.where(np.arange(10_000) < 6_000, 1.0, -1.0)[:, None]
    constraints = compile_constraints([Opportunity("a", 2.0, 0.6)], Limits(bankroll=100))
    assert solve_continuous(returns, constraints).stakes[0] == pytest.approx(0.2, abs=1e-9)


def test_thorp_two_independent_even_money_bets():
    # Thorp (2006), section 7: two independent even-money bets with edge F = p - q each have
    # the simultaneous Kelly stake f = F / (1 + F^2).
    p = 0.6
    edge_f = 2 * p - 1
    returns = exact_two_outcome_returns(2.0, p, 2.0, p)
    opportunities = [Opportunity("a", 2.0, p), Opportunity("b", 2.0, p)]
    result = solve_continuous(returns, compile_constraints(opportunities, Limits(bankroll=1)))
    assert result.stakes == pytest.approx([edge_f / (1 + edge_f**2)] * 2, abs=1e-9)
    assert result.gap_bound < 1e-10


def test_mutually_exclusive_outcomes_match_smoczynski_tomkins():
    # Smoczynski & Tomkins (2010): for exclusive outcomes, bet on the set with p_i o_i > R,
    # R = (1 - sum p) / (1 - sum 1/o) over that set, stake f_i = p_i - R / o_i.
    probabilities = np.array([0.5, 0.3, 0.2])
    odds = np.array([2.5, 3.2, 4.0])
    opportunities = [Opportunity(f"o{i}", odds[i], probabilities[i], event="race", side="over") for i in range(3)]
    # Exclusive outcomes as rows, weighted by probability.
    outcome_rows = np.full((3, 3), -1.0)
    outcome_rows[np.arange(3), np.arange(3)] = odds - 1
    returns = np.repeat(outcome_rows, (probabilities * 100_000).astype(int), axis=0)
    order = np.argsort(-probabilities * odds)
    chosen = []
    reserve = 1.0
    for i in order:
        if probabilities[i] * odds[i] <= reserve:
            break
        chosen.append(i)
        reserve = (1 - probabilities[chosen].sum()) / (1 - (1 / odds[chosen]).sum())
    expected = np.zeros(3)
    expected[chosen] = probabilities[chosen] - reserve / odds[chosen]
    result = solve_continuous(returns, compile_constraints(opportunities, Limits(bankroll=1)))
    assert result.stakes == pytest.approx(expected, abs=1e-7)


def random_problem(n, seed, *, n_scenarios=2_000, edge_scale=1.1):
    rng = np.random.default_rng(seed)
    opportunities = []
    for i in range(n):
        odds = float(rng.uniform(1.5, 3.5))
        probability = float(min(0.95, rng.uniform(0.9, edge_scale) / odds))
        opportunities.append(Opportunity(f"b{i}", odds, probability, event=f"e{i}", game=f"g{i // 3}"))
    loadings = rng.normal(size=(n, 2)) * 0.4
    correlation = nearest_correlation(loadings @ loadings.T + np.diag(1 - (loadings**2).sum(axis=1).clip(max=0.9)))
    correlation = correlation / np.sqrt(np.outer(np.diag(correlation), np.diag(correlation)))
    returns = scenario_returns(opportunities, correlation, n_scenarios=n_scenarios, seed=seed).returns
    return opportunities, correlation, returns


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_optimum_agrees_with_cvxpy(seed):
    cp = pytest.importorskip("cvxpy")
    opportunities, _, returns = random_problem(8, seed)
    limits = Limits(bankroll=1000, max_exposure=0.4, max_per_bet=0.15, max_per_game=0.2)
    constraints = compile_constraints(opportunities, limits)
    ours = solve_continuous(returns, constraints)
    stakes = cp.Variable(len(opportunities))
    game_rows = np.zeros((constraints.game_caps.size, len(opportunities)))
    game_rows[constraints.game_of, np.arange(len(opportunities))] = 1
    problem = cp.Problem(
        cp.Maximize(cp.sum(cp.log(1 + returns @ stakes)) / returns.shape[0]),
        [
            stakes >= 0,
            stakes <= constraints.upper,
            cp.sum(stakes) <= constraints.total,
            game_rows @ stakes <= constraints.game_caps,
        ],
    )
    problem.solve(solver=cp.CLARABEL)
    assert ours.utility >= problem.value - 1e-7
    assert ours.stakes == pytest.approx(stakes.value, abs=2e-4)


def test_no_edge_gives_an_empty_allocation():
    # Priced at the book's own de-vigged probabilities, nothing has an edge after the margin.
    opportunities = []
    for i, (over, under) in enumerate([(1.91, 1.91), (1.80, 2.05), (2.40, 1.57)]):
        p_over, p_under = devig([over, under], method="shin")
        opportunities.append(Opportunity(f"p{i}o", over, p_over, event=f"p{i}", side="over"))
        opportunities.append(Opportunity(f"p{i}u", under, p_under, event=f"p{i}", side="under"))
    report = optimize(opportunities, Limits(bankroll=1000), settings=RunSettings(n_scenarios=4_000))
    assert sum(report.stakes) == 0.0


@pytest.mark.parametrize("method", ["multiplicative", "additive", "power", "shin"])
def test_devig_methods_sum_to_one_and_keep_the_order(method):
    probabilities = devig([1.5, 2.9, 7.0], method=method)
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities[0] > probabilities[1] > probabilities[2] > 0


def test_devig_rejects_odds_at_or_below_one():
    with pytest.raises(ValueError, match="decimal_odds"):
        devig([1.0, 2.0])


def test_shin_takes_more_from_the_long_shot_than_multiplicative():
    multiplicative = devig([1.25, 4.5], method="multiplicative")
    shin = devig([1.25, 4.5], method="shin")
    assert shin[1] < multiplicative[1]


def test_correlation_is_shrunk_and_positive_semidefinite():
    rng = np.random.default_rng(0)
    base = rng.normal(size=200)
    histories = [
        {f"g{k}": base[k] + rng.normal() * 0.5 for k in range(200)},
        {f"g{k}": base[k] + rng.normal() * 0.5 for k in range(200)},
        {f"g{k}": base[k] for k in range(10)},  # few shared games
        {f"h{k}": 1.0 for k in range(50)},  # no shared games
    ]
    correlation, shared = estimate_correlation(histories)
    assert np.linalg.eigvalsh(correlation).min() >= -1e-10
    assert 0.6 < correlation[0, 1] < 0.8
    assert abs(correlation[0, 2]) < abs(correlation[0, 1])
    assert correlation[0, 3] == 0.0
    assert shared[0, 2] == 10


def test_scenarios_keep_the_marginals_and_are_reproducible():
    opportunities, correlation, _ = random_problem(5, 4)
    a = scenario_returns(opportunities, correlation, n_scenarios=50_000, seed=7).returns
    b = scenario_returns(opportunities, correlation, n_scenarios=50_000, seed=7).returns
    assert np.array_equal(a, b)
    win_rate = (a > 0).mean(axis=0)
    assert win_rate == pytest.approx([o.probability for o in opportunities], abs=0.01)


def test_over_and_under_of_one_prop_never_both_win():
    opportunities = [
        Opportunity("o", 1.9, 0.5, p_push=0.1, event="prop", side="over"),
        Opportunity("u", 1.9, 0.4, p_push=0.1, event="prop", side="under"),
    ]
    returns = scenario_returns(opportunities, n_scenarios=20_000, seed=1).returns
    assert not np.any((returns[:, 0] > 0) & (returns[:, 1] > 0))
    assert np.mean((returns[:, 0] == 0) & (returns[:, 1] == 0)) == pytest.approx(0.1, abs=0.01)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    max_exposure=st.floats(0.05, 1.0),
    max_per_bet=st.floats(0.01, 0.5),
    max_per_game=st.floats(0.02, 1.0),
    max_bets=st.one_of(st.none(), st.integers(1, 6)),
    min_stake=st.sampled_from([0.0, 5.0, 10.0]),
    increment=st.sampled_from([0.0, 1.0, 5.0]),
    kelly=st.sampled_from([1.0, 0.5, 0.25]),
)
def test_every_limit_holds_on_every_output(
    seed, max_exposure, max_per_bet, max_per_game, max_bets, min_stake, increment, kelly
):
    bankroll = 1000.0
    smallest = min(max_exposure, max_per_bet, max_per_game) * bankroll
    min_stake = min(min_stake, smallest)
    increment = min(increment, smallest)
    limits = Limits(
        bankroll=bankroll,
        max_exposure=max_exposure,
        max_per_bet=max_per_bet,
        max_per_game=max_per_game,
        max_bets=max_bets,
        min_stake=min_stake,
        increment=increment,
        kelly_fraction=kelly,
    )
    opportunities, correlation, _ = random_problem(9, seed, edge_scale=1.3)
    report = optimize(
        opportunities,
        limits,
        correlation,
        settings=RunSettings(
            n_scenarios=1_000, oos_scenarios=1_000, seed=seed, anneal=AnnealSettings(max_seconds=0.5, max_chunks=40)
        ),
    )
    stakes = np.array(report.stakes)
    tolerance = 1e-6
    assert np.all(stakes >= 0)
    assert stakes.sum() <= max_exposure * bankroll + tolerance
    assert np.all(stakes <= max_per_bet * bankroll + tolerance)
    games = compile_constraints(opportunities, limits)
    assert np.all(games.game_sums(stakes) <= max_per_game * bankroll + tolerance)
    placed = stakes[stakes > 0]
    if max_bets is not None:
        assert placed.size <= max_bets
    assert np.all(placed >= min_stake - tolerance)
    if increment > 0:
        assert np.allclose(placed / increment, np.round(placed / increment), atol=1e-6)


def test_same_seed_same_result():
    opportunities, correlation, _ = random_problem(10, 5, edge_scale=1.2)
    limits = Limits(bankroll=500, max_exposure=0.5, max_per_bet=0.1, max_bets=4, min_stake=5, increment=1)
    run = RunSettings(n_scenarios=2_000, oos_scenarios=2_000, seed=11, anneal=AnnealSettings(max_chunks=30))
    first = optimize(opportunities, limits, correlation, settings=run)
    second = optimize(opportunities, limits, correlation, settings=run)
    assert first.stakes == second.stakes
    assert first.expected_log_growth == second.expected_log_growth


def test_annealer_reaches_the_exact_optimum_on_continuous_rules():
    opportunities, _, returns = random_problem(12, 6, n_scenarios=3_000, edge_scale=1.2)
    constraints = compile_constraints(opportunities, Limits(bankroll=1, max_exposure=0.3, max_per_bet=0.1))
    exact = solve_continuous(returns, constraints)
    annealed = anneal(returns, constraints, settings=AnnealSettings(max_seconds=5, seed=3))
    assert annealed.utility <= exact.utility + 1e-12
    assert (exact.utility - annealed.utility) / exact.utility < 1e-4


def test_discrete_annealer_matches_exhaustive_search_on_small_problems():
    opportunities, _, returns = random_problem(7, 8, n_scenarios=2_000, edge_scale=1.25)
    limits = Limits(bankroll=100, max_exposure=0.5, max_per_bet=0.2, max_bets=2, min_stake=2, increment=1)
    constraints = compile_constraints(opportunities, limits)
    best = 0.0
    for pair in itertools.combinations(range(7), 2):
        for a in range(0, 21):
            for b in range(0, 21):
                stakes = np.zeros(7)
                stakes[list(pair)] = [a / 100, b / 100]
                if (0 < a < 2) or (0 < b < 2) or not constraints.feasible(stakes):
                    continue
                best = max(best, utility(returns, stakes))
    annealed = anneal(
        returns, constraints, max_bets=2, unit=0.01, min_stake=0.02, settings=AnnealSettings(max_seconds=5, seed=1)
    )
    assert annealed.utility == pytest.approx(best, rel=1e-9)


def test_limits_name_the_field_that_is_wrong():
    with pytest.raises(ValueError, match="^bankroll"):
        Limits(bankroll=-5)
    with pytest.raises(ValueError, match="^max_bets"):
        Limits(bankroll=5, max_bets=0)
    with pytest.raises(ValueError, match="^min_stake"):
        Limits(bankroll=100, max_per_bet=0.05, min_stake=10)
    with pytest.raises(ValueError, match="^probability"):
        Opportunity("x", 2.0, 1.0)
    with pytest.raises(ValueError, match="^decimal_odds"):
        Opportunity("x", 1.0, 0.5)


def test_dropping_one_leg_of_a_hedge_leaves_a_solvent_start():
    # Over and under of one prop both priced above evens: the continuous answer stakes both
    # legs heavily (one always wins); K = 1 keeps one leg, whose losses a quarter-Kelly
    # objective (returns / 0.25) could not cover without shrinking it.
    opportunities = [
        Opportunity("o", 2.2, 0.5, event="prop", side="over"),
        Opportunity("u", 2.2, 0.5, event="prop", side="under"),
    ]
    limits = Limits(bankroll=100, max_bets=1, increment=1, kelly_fraction=0.25)
    report = optimize(opportunities, limits, settings=RunSettings(n_scenarios=2_000, oos_scenarios=2_000))
    placed = [s for s in report.stakes if s > 0]
    assert len(placed) == 1
    assert report.expected_log_growth is not None and np.isfinite(report.expected_log_growth)
