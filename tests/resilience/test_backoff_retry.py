"""Backoff schedule, decaying attempts, stored next-attempt times and the bounded read retry."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from agent.autotask import errors as at
from agent.clock import FakeClock
from agent.resilience.backoff import AttemptCount, AttemptCounts, Backoff, next_attempt_at
from agent.resilience.classify import Category, classify
from agent.resilience.retry import READ_RETRY_ON, RetryPolicy, retry


def test_backoff_ceiling_grows_exponentially_and_stops_at_the_cap():
    policy = Backoff(base=1.0, cap=30.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == [1, 2, 4, 8, 16, 30]
    assert policy.ceiling(10_000) == 30.0


def test_full_jitter_stays_within_zero_and_the_ceiling_and_is_reproducible():
    policy = Backoff(base=1.0, cap=30.0)
    a = [policy.delay(5, random.Random(7)) for _ in range(3)]
    b = [policy.delay(5, random.Random(7)) for _ in range(3)]
    assert a == b
    rng = random.Random(1)
    delays = [policy.delay(5, rng) for _ in range(200)]
    assert all(0 <= d <= 16 for d in delays)
    assert max(delays) > 8 and min(delays) < 8  # spread, not a fixed value


def test_retry_after_is_a_floor_on_the_delay():
    policy = Backoff(base=1.0, cap=30.0)
    rng = random.Random(3)
    assert all(policy.delay(1, rng, retry_after=45.0) == 45.0 for _ in range(20))


def test_attempts_decay_after_a_healthy_period():
    count = AttemptCount(decay_after=60.0)
    for t in range(5):
        count.fail(float(t))
    assert count.current(4.0) == 5
    assert count.current(4.0 + 120.0) == 3
    assert count.current(4.0 + 3600.0) == 0
    assert count.fail(4.0 + 120.0) == 4


def test_attempt_counts_are_kept_per_key_and_cleared_by_success():
    counts = AttemptCounts()
    counts.fail("op-1", 0.0)
    counts.fail("op-1", 1.0)
    counts.fail("op-2", 1.0)
    assert counts.current("op-1", 1.0) == 2
    counts.succeed("op-1")
    assert counts.current("op-1", 1.0) == 0
    assert counts.current("op-2", 1.0) == 1


def test_next_attempt_time_of_a_transient_failure_lies_within_the_backoff(fake_clock):
    now = fake_clock.now()
    found = classify(at.ServerError("down", status=503))
    at_time = next_attempt_at(found, 3, now, random.Random(2), Backoff(base=1.0, cap=60.0))
    assert at_time is not None
    assert now <= at_time <= now + timedelta(seconds=4)


def test_next_attempt_time_honours_retry_after_on_a_429(fake_clock):
    now = fake_clock.now()
    found = classify(at.RateLimitedError("quota", retry_after=90.0))
    at_time = next_attempt_at(found, 1, now, random.Random(2))
    assert at_time == now + timedelta(seconds=90)


@pytest.mark.parametrize(
    "error",
    [
        at.ValidationError("bad"),
        at.WrongSecretError("no"),
        at.NetworkError("lost", is_write=True, may_have_reached_server=True),
    ],
)
def test_no_next_attempt_for_failures_a_retry_cannot_fix(fake_clock, error):
    assert next_attempt_at(classify(error), 1, fake_clock.now(), random.Random(0)) is None


class Flaky:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_retry_retries_named_categories_until_success_without_real_sleep():
    clock = FakeClock()
    fn = Flaky([at.NetworkError("reset"), at.ServerError("503", status=503)])
    policy = RetryPolicy(on=READ_RETRY_ON, attempts=5, clock=clock, rng=random.Random(1))
    assert await policy.run(fn) == "ok"
    assert fn.calls == 3
    assert len(clock.sleeps) == 2


async def test_retry_does_not_retry_categories_it_does_not_name():
    fn = Flaky([at.ValidationError("bad")])
    policy = RetryPolicy(on=READ_RETRY_ON, clock=FakeClock())
    with pytest.raises(at.ValidationError):
        await policy.run(fn)
    assert fn.calls == 1


async def test_retry_gives_up_after_the_attempt_limit():
    fn = Flaky([at.NetworkError("x") for _ in range(10)])
    policy = RetryPolicy(on=READ_RETRY_ON, attempts=3, clock=FakeClock())
    with pytest.raises(at.NetworkError):
        await policy.run(fn)
    assert fn.calls == 3


async def test_retry_gives_up_when_the_next_wait_would_pass_the_time_limit():
    clock = FakeClock()
    fn = Flaky([at.RateLimitedError("q", retry_after=20.0) for _ in range(10)])
    policy = RetryPolicy(on={Category.THROTTLED_QUOTA}, attempts=10, timeout=30.0, clock=clock)
    with pytest.raises(at.RateLimitedError):
        await policy.run(fn)
    assert fn.calls == 2  # 20 s waited, a second 20 s wait would pass 30 s
    assert clock.sleeps == [20.0]


async def test_retry_decorator_keeps_arguments_and_waits_on_the_injected_clock():
    clock = FakeClock()
    seen: list[int] = []

    @retry(on={Category.TRANSIENT_NETWORK}, attempts=3, clock=clock, rng=random.Random(0))
    async def fetch(ticket_id: int) -> int:
        seen.append(ticket_id)
        if len(seen) < 2:
            raise at.NetworkError("reset")
        return ticket_id * 2

    assert await fetch(21) == 42
    assert seen == [21, 21]
    assert len(clock.sleeps) == 1
