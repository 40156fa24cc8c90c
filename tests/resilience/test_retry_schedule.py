"""The pull's own retry schedule: a growing, jittered, capped wait that a success clears."""

from __future__ import annotations

import random

from agent.resilience.backoff import Backoff, RetrySchedule


def test_the_wait_grows_with_each_failure_in_a_row_up_to_the_cap():
    schedule = RetrySchedule(Backoff(base=10.0, cap=300.0), random.Random(5))
    waits = [schedule.fail(1000.0, "down") - 1000.0 for _ in range(8)]
    for n, wait in enumerate(waits, start=1):
        ceiling = min(300.0, 10.0 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert waits[-1] >= 150.0 and max(waits) <= 300.0
    assert not schedule.due(1000.0) and schedule.due(1000.0 + 300.0)


def test_a_floor_from_the_refusal_is_honoured_and_success_clears_everything():
    schedule = RetrySchedule(Backoff(base=10.0, cap=300.0), random.Random(1))
    assert schedule.fail(0.0, "shed", not_before=120.0) == 120.0
    assert schedule.last_error == "shed"
    schedule.succeed()
    assert schedule.failures == 0 and schedule.last_error is None and schedule.due(0.0)


def test_reset_runs_at_the_next_chance_but_remembers_the_failures():
    schedule = RetrySchedule(Backoff(base=10.0, cap=300.0), random.Random(2))
    schedule.fail(0.0, "a")
    schedule.fail(0.0, "b")
    schedule.reset()
    assert schedule.due(0.0) and schedule.failures == 2
    assert schedule.fail(0.0, "c") >= 20.0  # the third failure in a row: 20..40 s


def test_a_refusal_postpones_to_its_own_time_without_widening_the_wait():
    schedule = RetrySchedule(Backoff(base=10.0, cap=300.0), random.Random(3))
    schedule.fail(0.0, "down")
    assert schedule.postpone(100.0, "shed", until=130.0) == 130.0
    assert schedule.postpone(200.0, "dropped", until=None) == 200.0 and schedule.due(200.0)
    assert schedule.failures == 1 and schedule.last_error == "dropped"
