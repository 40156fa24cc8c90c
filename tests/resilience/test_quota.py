"""Quota pacing: budget share, cost-aware threshold reads, throttle reactions, latency tier."""

from __future__ import annotations

import pytest

from agent.clock import FakeClock
from agent.resilience.bulkhead import Kind
from agent.resilience.quota import (
    QuotaPacer,
    QuotaSettings,
    QuotaWaitTooLong,
    ThresholdInfo,
    TokenBucket,
)


class Tenant:
    """Counts requests in a fixed window like the server's ThresholdInformation."""

    def __init__(self, clock: FakeClock, threshold: int = 3600, current: int = 0) -> None:
        self.clock = clock
        self.threshold = threshold
        self.current = current
        self.readings = 0

    def request(self) -> None:
        self.current += 1

    async def read(self) -> ThresholdInfo:
        self.readings += 1
        self.request()  # the reading counts itself
        return ThresholdInfo(self.threshold, 60.0, self.current)


def test_threshold_information_is_read_from_the_wire_format_case_insensitively():
    body = {
        "externalRequestThreshold": 10000,
        "requestThresholdTimeframe": 60,
        "CurrentTimeframeRequestCount": 4321,
    }
    assert ThresholdInfo.from_json(body) == ThresholdInfo(10000, 60.0, 4321)


def test_token_bucket_grants_the_burst_then_paces_at_its_rate():
    clock = FakeClock()
    bucket = TokenBucket(clock, capacity=3)
    assert [bucket.take_now(1, 2.0, 3) for _ in range(3)] == [0, 0, 0]
    assert bucket.take_now(1, 2.0, 3) == pytest.approx(0.5)
    clock.advance(0.5)
    assert bucket.take_now(1, 2.0, 3) == 0


async def test_pacer_keeps_the_tenant_below_its_configured_share_over_an_hour():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=3600)
    settings = QuotaSettings(share=0.5, burst=5, max_wait=10_000)
    pacer = QuotaPacer(tenant.read, settings, clock)
    started = clock.monotonic()
    sent = 0
    while clock.monotonic() - started < 3600:
        await pacer.acquire(Kind.WRITE)
        tenant.request()
        sent += 1
    # 50 % of 3600/h, plus the initial burst; the readings count as well
    assert tenant.current <= 0.5 * 3600 + settings.burst + 1
    assert sent > 0.4 * 3600  # and it does not starve either
    assert clock.sleeps  # it paced by waiting on the injected clock


async def test_threshold_is_read_more_often_as_usage_nears_the_limit():
    clock = FakeClock()
    settings = QuotaSettings(min_interval=5.0, max_interval=300.0)
    low = QuotaPacer(Tenant(clock, 10_000, 100).read, settings, clock)
    high = QuotaPacer(Tenant(clock, 10_000, 8_500).read, settings, clock)
    await low.acquire(Kind.WRITE)
    await high.acquire(Kind.WRITE)
    assert low.read_interval() > 250
    assert high.read_interval() < 10
    assert high.read_interval() >= settings.min_interval


async def test_the_threshold_reading_itself_takes_budget():
    clock = FakeClock()
    tenant = Tenant(clock)
    without_reading = QuotaPacer(None, QuotaSettings(burst=2), clock)
    await without_reading.acquire(Kind.WRITE)
    await without_reading.acquire(Kind.WRITE)
    assert clock.sleeps == []
    pacer = QuotaPacer(tenant.read, QuotaSettings(burst=2), clock)
    await pacer.acquire(Kind.WRITE)  # the reading took one token, the call the other
    assert tenant.readings == 1
    await pacer.acquire(Kind.WRITE)
    assert len(clock.sleeps) == 1


async def test_a_429_stops_requests_until_retry_after_then_recovers_gradually():
    clock = FakeClock()
    settings = QuotaSettings(recovery_seconds=100.0)
    pacer = QuotaPacer(None, settings, clock)
    full_rate = pacer.rate()
    pacer.on_quota_exceeded(retry_after=30.0)
    start = clock.monotonic()
    await pacer.acquire(Kind.WRITE)
    assert clock.monotonic() - start >= 30.0
    assert pacer.rate() == pytest.approx(full_rate * 0.25, rel=0.05)
    clock.advance(50.0)
    assert full_rate * 0.5 < pacer.rate() < full_rate
    clock.advance(60.0)
    assert pacer.rate() == pytest.approx(full_rate)


async def test_thread_limit_answers_halve_the_pace_at_once():
    clock = FakeClock()
    pacer = QuotaPacer(None, QuotaSettings(), clock)
    before = pacer.rate()
    pacer.on_thread_limited()
    assert pacer.rate() == pytest.approx(before / 2)
    pacer.on_thread_limited()
    assert pacer.rate() == pytest.approx(before / 4)


async def test_pace_squeezes_near_the_target_and_crawls_past_it():
    clock = FakeClock()
    settings = QuotaSettings(share=0.8)
    pacer = QuotaPacer(None, settings, clock)
    pacer.info = ThresholdInfo(10_000, 60.0, 0)
    normal = pacer.rate()
    pacer.info = ThresholdInfo(10_000, 60.0, 7_600)
    assert pacer.rate() < normal * 0.6
    pacer.info = ThresholdInfo(10_000, 60.0, 8_000)
    assert pacer.rate() == settings.floor_rate


async def test_background_work_waits_past_the_latency_tier_while_writes_go_on():
    clock = FakeClock()
    tenant = Tenant(clock, 10_000, 5_500)
    pacer = QuotaPacer(tenant.read, QuotaSettings(), clock)
    await pacer.acquire(Kind.WRITE)
    with pytest.raises(QuotaWaitTooLong) as held:
        await pacer.acquire(Kind.READ)
    assert held.value.retry_in > 0
    with pytest.raises(QuotaWaitTooLong):
        await pacer.acquire(Kind.METADATA)


async def test_a_failing_threshold_reading_keeps_pacing():
    clock = FakeClock()

    async def broken() -> ThresholdInfo:
        raise OSError("unreachable")

    pacer = QuotaPacer(broken, QuotaSettings(), clock)
    await pacer.acquire(Kind.WRITE)
    assert pacer.info == ThresholdInfo()
