from types import SimpleNamespace

import pytest
from django.core.cache import cache

from a1site.core.throttling import UserSlidingRateThrottle


class _User:
    pk = 7
    is_authenticated = True


def five_a_minute():
    """A user throttle of 5 a minute on a clock the test moves: (the clock, the class)."""
    now = [60_000.0]

    class FiveAMinute(UserSlidingRateThrottle):
        rate = "5/min"

        def timer(self):
            return now[0]

    cache.clear()
    return now, FiveAMinute


@pytest.fixture
def clock():
    return five_a_minute()


def _attempts(throttle_class, n):
    request = SimpleNamespace(user=_User())
    answers, waits = [], []
    for _ in range(n):
        throttle = throttle_class()
        allowed = throttle.allow_request(request, None)
        answers.append(allowed)
        if not allowed:
            waits.append(throttle.wait())
    return answers, waits


def test_sliding_counter_allows_the_rate_then_refuses_until_the_window_ends(clock):
    now, throttle_class = clock
    answers, waits = _attempts(throttle_class, 7)
    assert answers == [True] * 5 + [False] * 2
    assert waits == [60.0, 60.0]


def test_sliding_counter_weights_the_previous_window_by_its_overlap(clock):
    now, throttle_class = clock
    _attempts(throttle_class, 5)
    # Half-way into the next window the five count as 2.5: three more fit (2.5, 3.5 and 4.5
    # before each), a fourth would see 5.5, and fits once 3 + 5 x (1 - t / 60) < 5, t > 36 s.
    now[0] += 90
    answers, waits = _attempts(throttle_class, 4)
    assert answers == [True, True, True, False]
    assert waits == [6]
    now[0] += 6.5
    assert _attempts(throttle_class, 1)[0] == [True]
