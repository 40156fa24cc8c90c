"""Circuit breaker behaviour: tripping, probing, growing breaks, adaptation, events, registry."""

from __future__ import annotations

import random

import pytest

from agent.clock import FakeClock
from agent.resilience.breaker import (
    ZONE_WIDE,
    BreakerOpenError,
    BreakerRegistry,
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
)
from agent.resilience.events import BreakerChanged, EventHub

SETTINGS = BreakerSettings(min_calls=4, probes=2, break_seconds=5.0, max_break_seconds=40.0)


def make(clock: FakeClock, settings: BreakerSettings = SETTINGS) -> CircuitBreaker:
    return CircuitBreaker("zone1", "Tickets", settings, clock)


def fail(b: CircuitBreaker, n: int = 1) -> None:
    for _ in range(n):
        b.failure(b.acquire())


def succeed(b: CircuitBreaker, n: int = 1, duration: float = 0.1) -> None:
    for _ in range(n):
        b.success(b.acquire(), duration)


def test_breaker_stays_closed_below_the_minimum_number_of_calls(fake_clock):
    b = make(fake_clock)
    fail(b, 3)
    assert b.state is BreakerState.CLOSED


def test_breaker_opens_on_the_call_that_crosses_the_failure_ratio(fake_clock):
    events: list[BreakerChanged] = []
    b = CircuitBreaker("zone1", "Tickets", SETTINGS, fake_clock, events.append)
    succeed(b, 2)
    fail(b, 1)
    assert b.state is BreakerState.CLOSED
    fail(b, 1)  # 2 of 4 failed: 50 %
    assert b.state is BreakerState.OPEN  # opened in the failing call itself
    assert [(e.old, e.new) for e in events] == [("closed", "open")]
    with pytest.raises(BreakerOpenError) as refused:
        b.acquire()
    assert refused.value.retry_in == pytest.approx(5.0)


def test_slow_calls_open_the_breaker(fake_clock):
    b = make(fake_clock, BreakerSettings(min_calls=4, slow_call_seconds=2.0, slow_threshold=0.75))
    succeed(b, 3, duration=3.0)
    succeed(b, 1, duration=0.1)
    assert b.state is BreakerState.OPEN


def test_old_outcomes_leave_the_sliding_window(fake_clock):
    b = make(fake_clock, BreakerSettings(min_calls=4, window_seconds=10.0))
    fail(b, 3)
    fake_clock.advance(11.0)
    succeed(b, 3)
    fail(b, 1)
    assert b.state is BreakerState.CLOSED
    assert b.ratios()[0] == 4


def test_half_open_admits_exactly_the_probe_count_and_closes_after_they_succeed(fake_clock):
    b = make(fake_clock)
    fail(b, 4)
    fake_clock.advance(5.0)
    assert b.state is BreakerState.HALF_OPEN
    first, second = b.acquire(), b.acquire()
    with pytest.raises(BreakerOpenError):
        b.acquire()
    b.success(first)
    assert b.state is BreakerState.HALF_OPEN
    b.success(second)
    assert b.state is BreakerState.CLOSED


def test_a_failed_probe_reopens_with_a_longer_break_up_to_the_cap(fake_clock):
    b = make(fake_clock)
    fail(b, 4)
    breaks = []
    for _ in range(5):
        breaks.append(b.opened_until - fake_clock.monotonic())
        fake_clock.advance(breaks[-1])
        fail(b, 1)  # the probe fails
    assert breaks == [5.0, 10.0, 20.0, 40.0, 40.0]


def test_a_breaker_failing_for_days_keeps_its_capped_break(fake_clock):
    """Two thousand failed probes in a row (an endpoint down for days, probed at each end of
    break) each open it again for the longest break; none makes the next break overflow."""
    b = make(fake_clock)
    fail(b, 4)
    for _ in range(2000):
        fake_clock.advance(b.opened_until - fake_clock.monotonic())
        fail(b, 1)  # the probe fails
    assert b.openings == 2001
    assert b.state is BreakerState.OPEN
    assert b.opened_until - fake_clock.monotonic() == SETTINGS.max_break_seconds


def test_repeated_openings_are_forgotten_after_a_stable_period(fake_clock):
    b = make(fake_clock, BreakerSettings(min_calls=4, probes=1, stable_seconds=100.0))
    fail(b, 4)
    fake_clock.advance(5.0)
    fail(b, 1)
    assert b.openings == 2
    fake_clock.advance(10.0)
    succeed(b, 1)
    assert b.state is BreakerState.CLOSED
    fake_clock.advance(200.0)
    fail(b, 4)
    assert b.openings == 1


def test_a_cancelled_probe_gives_its_slot_back(fake_clock):
    b = make(fake_clock)
    fail(b, 4)
    fake_clock.advance(5.0)
    p1, p2 = b.acquire(), b.acquire()
    b.release(p2)
    p3 = b.acquire()
    b.success(p1)
    b.success(p3)
    assert b.state is BreakerState.CLOSED


def test_outcomes_of_calls_admitted_before_a_state_change_are_ignored(fake_clock):
    b = make(fake_clock)
    stale = b.acquire()
    fail(b, 4)
    fake_clock.advance(5.0)
    assert b.state is BreakerState.HALF_OPEN
    b.failure(stale)
    assert b.state is BreakerState.HALF_OPEN


def test_isolate_rejects_everything_until_reset(fake_clock):
    b = make(fake_clock)
    b.isolate()
    fake_clock.advance(10_000)
    with pytest.raises(BreakerOpenError):
        b.acquire()
    b.reset()
    assert b.state is BreakerState.CLOSED
    b.acquire()


def test_threshold_rises_with_a_chronic_error_rate_and_stays_within_bounds(fake_clock):
    settings = BreakerSettings(min_calls=1000, baseline_alpha=0.05, window_size=1000)
    b = make(fake_clock, settings)
    assert b.failure_threshold == 0.5
    for i in range(400):  # 40 % failures, too few calls to trip
        (b.failure if i % 5 < 2 else b.success)(b.acquire())
    assert 0.6 < b.failure_threshold < 0.7  # 40 % baseline + 25 % margin
    for _ in range(500):
        fail(b)
    assert b.failure_threshold == settings.max_failure_threshold


def test_noisy_endpoint_is_not_tripped_by_its_everyday_error_rate(fake_clock):
    settings = BreakerSettings(min_calls=20, window_size=20, baseline_alpha=0.05)
    noisy = make(fake_clock, settings)
    fixed = make(fake_clock, BreakerSettings(min_calls=20, window_size=20, adapt_margin=0.0))
    rng = random.Random(5)
    pattern = [rng.random() < 0.42 for _ in range(1000)]  # 42 % failures, bursts past 50 %
    tripped = {"noisy": 0, "fixed": 0}
    for failed in pattern:
        for name, b in (("noisy", noisy), ("fixed", fixed)):
            if b.state is not BreakerState.CLOSED:
                b.reset()
                tripped[name] += 1
            (b.failure if failed else b.success)(b.acquire())
    assert tripped["fixed"] >= 5
    assert tripped["noisy"] <= tripped["fixed"] // 3


def test_registry_keys_breakers_by_zone_and_endpoint_and_publishes_changes(fake_clock):
    hub = EventHub()
    seen: list[BreakerChanged] = []
    hub.subscribe(seen.append)
    registry = BreakerRegistry(SETTINGS, fake_clock, hub)
    tickets = registry.get("zone1", "Tickets")
    assert registry.get("zone1", "Tickets") is tickets
    assert registry.get("zone2", "Tickets") is not tickets
    assert registry.get("zone1").endpoint == ZONE_WIDE
    fail(tickets, 4)
    assert registry.states()[("zone1", "Tickets")] is BreakerState.OPEN
    assert seen[-1].zone == "zone1" and seen[-1].new == "open"


def test_force_open_holds_the_breaker_until_the_given_time(fake_clock):
    b = make(fake_clock)
    b.force_open(fake_clock.monotonic() + 3.0, "fleet: elsewhere")
    with pytest.raises(BreakerOpenError):
        b.acquire()
    fake_clock.advance(3.0)
    assert b.state is BreakerState.HALF_OPEN
