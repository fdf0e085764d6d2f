"""The scenario cache: reused draws give the numbers a fresh draw with the same seed gives;
a moved price or probability is reflected, only in its own column; the budget holds."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolios.engine import (
    AnnealSettings,
    Limits,
    Opportunity,
    RunSettings,
    ScenarioCache,
    optimize,
    out_of_sample,
    scenario_returns,
)
from tests.portfolios.test_engine import random_problem

S = 4_000


def both_sides(n: int, seed: int) -> tuple[list[Opportunity], np.ndarray]:
    """Over and under of n props (the slate's shape), the under with a push chance."""
    props, correlation, _ = random_problem(n, seed, edge_scale=1.25)
    opportunities = []
    for prop in props:
        opportunities.append(dataclasses.replace(prop, key=f"{prop.key}o", side="over"))
        under = min(0.9, 1.0 - prop.probability - 0.03)
        opportunities.append(
            Opportunity(f"{prop.key}u", 1.9, under, p_push=0.03, event=prop.event, side="under", game=prop.game)
        )
    return opportunities, correlation


def fresh(opportunities, correlation, seed=3):
    return scenario_returns(opportunities, correlation, n_scenarios=S, seed=seed).returns


def cached(cache, opportunities, correlation, seed=3):
    return scenario_returns(opportunities, correlation, n_scenarios=S, seed=seed, cache=cache)


def test_unchanged_bets_reuse_the_draws_and_get_the_fresh_numbers():
    opportunities, correlation = both_sides(6, 1)
    cache = ScenarioCache(max_bytes=64 << 20)
    first = cached(cache, opportunities, correlation)
    again = cached(cache, opportunities, correlation)
    assert (first.draws, again.draws, again.rebuilt_columns) == ("drawn", "cached", 0)
    assert np.array_equal(again.returns, fresh(opportunities, correlation))
    assert not again.returns.flags.writeable  # shared between runs


def test_a_moved_price_rebuilds_its_column_only_with_the_same_outcomes():
    opportunities, correlation = both_sides(6, 2)
    cache = ScenarioCache(max_bytes=64 << 20)
    before = cached(cache, opportunities, correlation).returns
    moved = list(opportunities)
    moved[4] = dataclasses.replace(moved[4], decimal_odds=moved[4].decimal_odds * 1.03)
    after = cached(cache, moved, correlation)
    assert (after.draws, after.rebuilt_columns) == ("cached", 1)
    assert np.array_equal(after.returns, fresh(moved, correlation))
    assert np.array_equal(after.returns[:, 4] > 0, before[:, 4] > 0)  # the same scenarios win
    assert np.all(after.returns[before[:, 4] > 0, 4] == pytest.approx(moved[4].decimal_odds - 1.0))
    assert np.array_equal(np.delete(after.returns, 4, axis=1), np.delete(before, 4, axis=1))


def test_a_changed_probability_is_reflected_from_the_same_uniforms():
    opportunities, correlation = both_sides(6, 3)
    cache = ScenarioCache(max_bytes=64 << 20)
    before = cached(cache, opportunities, correlation).returns
    changed = list(opportunities)
    # The under of prop 1 (it has a push chance) gets 8 points more likely.
    changed[3] = dataclasses.replace(changed[3], probability=changed[3].probability + 0.08)
    after = cached(cache, changed, correlation)
    assert (after.draws, after.rebuilt_columns) == ("cached", 1)
    assert np.array_equal(after.returns, fresh(changed, correlation))
    win_rate_change = (after.returns[:, 3] > 0).mean() - (before[:, 3] > 0).mean()
    assert win_rate_change == pytest.approx(0.08, abs=0.01)
    # Re-thresholded, not redrawn: every scenario that won before still wins.
    assert np.all(after.returns[before[:, 3] > 0, 3] > 0)
    assert np.array_equal(np.delete(after.returns, 3, axis=1), np.delete(before, 3, axis=1))


def test_new_correlation_seed_or_count_draws_again_and_new_bets_are_read_from_the_draws():
    opportunities, correlation = both_sides(5, 4)
    cache = ScenarioCache(max_bytes=64 << 20)
    cached(cache, opportunities, correlation)
    other = correlation.copy()
    other[0, 1] = other[1, 0] = correlation[0, 1] + 0.05
    assert cached(cache, opportunities, other).draws == "drawn"
    assert cached(cache, opportunities, correlation, seed=4).draws == "drawn"
    assert scenario_returns(opportunities, correlation, n_scenarios=S + 1, seed=3, cache=cache).draws == "drawn"
    # A second book on an event the draws already have: the same events, all columns read again.
    more = [*opportunities, dataclasses.replace(opportunities[0], key="b0o-book2", decimal_odds=2.4)]
    grown = cached(cache, more, correlation)
    assert (grown.draws, grown.rebuilt_columns) == ("cached", len(more))
    assert np.array_equal(grown.returns, fresh(more, correlation))


def test_the_cache_keeps_within_its_byte_budget():
    opportunities, correlation = both_sides(5, 5)
    one_entry = S * 5 * 8 + S * 10 * 8  # uniforms (S x events) + returns (S x bets)
    cache = ScenarioCache(max_bytes=2 * one_entry)
    for seed in range(4):
        cached(cache, opportunities, correlation, seed=seed)
    assert len(cache) == 2 and cache.nbytes == 2 * one_entry
    assert cached(cache, opportunities, correlation, seed=3).draws == "cached"  # the newest stayed
    assert cached(cache, opportunities, correlation, seed=0).draws == "drawn"  # the oldest went
    tiny = ScenarioCache(max_bytes=one_entry - 1)
    cached(tiny, opportunities, correlation)
    assert len(tiny) == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moves=st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from(["price", "probability"]), st.floats(0.9, 1.1)),
        min_size=1,
        max_size=6,
    )
)
def test_any_sequence_of_moves_gives_the_fresh_returns(moves):
    opportunities, correlation = both_sides(5, 6)
    cache = ScenarioCache(max_bytes=64 << 20)
    cached(cache, opportunities, correlation)
    for index, kind, factor in moves:
        bet = opportunities[index]
        if kind == "price":
            bet = dataclasses.replace(bet, decimal_odds=max(1.01, bet.decimal_odds * factor))
        else:
            bet = dataclasses.replace(bet, probability=min(bet.probability * factor, 0.95 - bet.p_push))
        opportunities = [*opportunities[:index], bet, *opportunities[index + 1 :]]
        assert np.array_equal(cached(cache, opportunities, correlation).returns, fresh(opportunities, correlation))


def deterministic_run(seed: int = 5) -> RunSettings:
    # A chunk budget, not a time budget: the annealer's answer depends on its inputs only.
    return RunSettings(
        n_scenarios=S, oos_scenarios=2 * S, seed=seed, anneal=AnnealSettings(max_chunks=30, max_seconds=60)
    )


def comparable(report) -> dict:
    out = report.as_dict()
    for timing_or_provenance in ("seconds", "exact_seconds", "anneal_seconds", "scenario_draws"):
        out.pop(timing_or_provenance)
    return out


def test_a_rebalance_on_cached_draws_allocates_as_a_fresh_run_with_the_same_seed():
    opportunities, correlation = both_sides(8, 7)
    limits = Limits(bankroll=1000, max_exposure=0.5, max_per_bet=0.1, max_per_game=0.25, increment=1)
    cache = ScenarioCache(max_bytes=64 << 20)
    accepted = optimize(opportunities, limits, correlation, settings=deterministic_run(), scenario_cache=cache)
    unchanged = optimize(
        opportunities,
        limits,
        correlation,
        settings=deterministic_run(),
        scenario_cache=cache,
        current_stakes=np.array(accepted.stakes),
    )
    assert unchanged.scenario_draws == "cached"
    assert comparable(unchanged) == comparable(
        optimize(
            opportunities, limits, correlation, settings=deterministic_run(), current_stakes=np.array(accepted.stakes)
        )
    )
    best = int(np.argmax(accepted.stakes))
    moved = list(opportunities)
    moved[best] = dataclasses.replace(moved[best], decimal_odds=1.01 + 0.2 * (moved[best].decimal_odds - 1.01))
    kwargs = {"settings": deterministic_run(), "current_stakes": np.array(accepted.stakes)}
    rebalanced = optimize(moved, limits, correlation, scenario_cache=cache, **kwargs)
    assert rebalanced.scenario_draws == "cached"
    assert comparable(rebalanced) == comparable(optimize(moved, limits, correlation, **kwargs))
    assert rebalanced.stakes[best] < accepted.stakes[best]  # the price fell: the stake follows


def test_deferred_out_of_sample_figures_equal_the_inline_ones():
    opportunities, correlation = both_sides(8, 8)
    limits = Limits(bankroll=1000, max_exposure=0.5, max_per_bet=0.1, max_per_game=0.25)
    inline = optimize(opportunities, limits, correlation, settings=deterministic_run())
    deferred = optimize(opportunities, limits, correlation, settings=deterministic_run(), out_of_sample_now=False)
    assert (inline.oos_status, inline.oos_scenarios) == ("computed", 2 * S)
    assert (deferred.oos_status, deferred.oos_scenarios) == ("deferred", 0)
    assert deferred.oos_growth is None and deferred.oos_growth_loss_pct is None
    assert deferred.stakes == inline.stakes
    later = out_of_sample(
        opportunities,
        limits,
        correlation,
        np.array(deferred.fractions),
        in_sample_growth=deferred.expected_log_growth,
        settings=deterministic_run(),
        scenario_cache=ScenarioCache(max_bytes=64 << 20),
    )
    assert later.growth == inline.oos_growth is not None
    assert later.independent_kelly_growth == inline.oos_independent_kelly_growth
    assert later.growth_loss_pct == inline.oos_growth_loss_pct
    assert later.n_scenarios == 2 * S
