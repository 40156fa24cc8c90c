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
from tests.resilience.pacing import round_robin


class Tenant:
    """Counts requests in a fixed window like the server's ThresholdInformation."""

    def __init__(
        self, clock: FakeClock, threshold: int = 3600, current: int = 0, minutes: float = 60.0
    ) -> None:
        self.clock = clock
        self.threshold = threshold
        self.current = current
        self.minutes = minutes  # the window ThresholdInformation reports (1: an hour scaled)
        self.readings = 0

    def request(self) -> None:
        self.current += 1

    async def read(self) -> ThresholdInfo:
        self.readings += 1
        self.request()  # the reading counts itself
        return ThresholdInfo(self.threshold, self.minutes, self.current)


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
    hourly = settings.share * 10_000 / 3600  # the share's own pace over the hour
    assert pacer.terms()[1] > 1000  # before: a burst of thousands may go
    pacer.on_quota_exceeded(retry_after=30.0)
    start = clock.monotonic()
    await pacer.acquire(Kind.WRITE)
    assert clock.monotonic() - start >= 30.0
    rate, burst = pacer.terms()
    assert rate == pytest.approx(hourly * 0.25, rel=0.05)  # a quarter of the hourly pace
    assert burst <= settings.tier_burst  # and no bursts
    clock.advance(50.0)
    assert hourly * 0.5 < pacer.rate() < hourly
    clock.advance(60.0)
    assert pacer.terms()[1] > 1000  # recovered: the burst is back


async def test_thread_limit_answers_halve_the_pace_at_once():
    clock = FakeClock()
    pacer = QuotaPacer(None, QuotaSettings(), clock)
    pacer.info = ThresholdInfo(10_000, 60.0, 6_000)  # past the tier: writes are spaced
    before, spaced = pacer.rate(), pacer.spacing(Kind.WRITE)
    assert spaced is not None
    pacer.on_thread_limited()
    assert pacer.spacing(Kind.WRITE) == pytest.approx(spaced / 2)
    assert pacer.rate() <= before / 2
    assert pacer.terms()[1] <= QuotaSettings().tier_burst  # and no bursts meanwhile
    pacer.on_thread_limited()
    assert pacer.spacing(Kind.WRITE) == pytest.approx(spaced / 4)


async def test_a_drain_at_low_usage_goes_as_one_burst_without_waiting():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=500)  # 5 % used by other integrations
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.5), clock)
    for _ in range(300):
        await pacer.acquire(Kind.WRITE)
        tenant.request()
    assert clock.sleeps == []  # nothing waited: the concurrency limits alone set the pace
    # usage was read again every twenty calls of the burst, and the readings waited for nothing
    assert tenant.readings == 300 // QuotaSettings().burst_reread_calls


async def test_the_agent_spends_at_most_its_share_of_what_the_others_leave():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=6_000)  # 60 % used by the others
    settings = QuotaSettings(share=0.5, max_wait=10_000)
    pacer = QuotaPacer(tenant.read, settings, clock)
    started, sent = clock.monotonic(), 0
    while clock.monotonic() - started < 3000:  # within one window: nothing ages out
        await pacer.acquire(Kind.WRITE)
        tenant.request()
        sent += 1
    # half of the 3,000 left below the 10 % reserve; the readings are paid from the reserve:
    # one every twenty calls, and once the allowance is spent one every five minutes
    assert sent <= 0.5 * 3_000
    assert tenant.readings <= sent / 20 + 3000 / 300 + 2
    assert sent > 0.5 * 3_000 * 0.9  # and it did get to spend it
    assert tenant.current < 0.9 * 10_000  # the tenant is never driven to its limit


async def test_agents_sharing_a_tenant_stay_together_under_its_share():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=2_000, current=0)
    settings = QuotaSettings(share=0.5, max_wait=0.0)  # no waiting: the loop moves the clock
    pacers = [QuotaPacer(tenant.read, settings, clock) for _ in range(4)]
    await round_robin(pacers, tenant.request, clock, rounds=4000, step=0.05)
    # Each sees the others in the tenant's growth and takes its part of the share.
    assert all(p.active_agents() >= 4 for p in pacers)
    assert tenant.current <= 0.5 * 2_000
    assert tenant.current >= 0.25 * 2_000  # and together they did spend a fair part of it


async def test_writes_slow_progressively_past_the_tiers_and_background_work_before():
    clock = FakeClock()
    pacer = QuotaPacer(None, QuotaSettings(share=0.5), clock)
    rates = {}
    for used in (3_000, 4_500, 5_500, 7_000, 8_000, 9_500):
        pacer.info = ThresholdInfo(10_000, 60.0, used)
        rates[used] = (pacer.spacing(Kind.WRITE), pacer.spacing(Kind.READ))
    assert rates[3_000] == (None, None)  # below both edges: the burst may go
    assert rates[4_500][0] is None and rates[4_500][1] is not None  # background slows first
    writes = [rates[u][0] for u in (5_500, 7_000, 8_000, 9_500)]
    assert all(w is not None for w in writes)
    assert writes == sorted(writes, reverse=True) and len(set(writes)) == 4
    pacer.info = ThresholdInfo(10_000, 60.0, 5_500)
    with pytest.raises(QuotaWaitTooLong):  # and at 50 % background work waits
        await pacer.acquire(Kind.READ)


async def test_spaced_writes_near_the_tier_wait_on_the_clock():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=6_000)
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.5), clock)
    for _ in range(20):
        await pacer.acquire(Kind.WRITE)
    assert clock.sleeps  # past 50 %: no burst
    spacing = pacer.spacing(Kind.WRITE)
    assert spacing is not None
    assert sum(clock.sleeps) >= (20 - QuotaSettings().tier_burst - 1) / spacing * 0.99


async def test_the_threshold_is_read_again_after_twenty_calls():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=0)
    settings = QuotaSettings(share=0.5, probe_requests=20)
    pacer = QuotaPacer(tenant.read, settings, clock)
    await pacer.acquire(Kind.WRITE)
    assert tenant.readings == 1
    for _ in range(19):
        await pacer.acquire(Kind.WRITE)
    assert tenant.readings == 1
    await pacer.acquire(Kind.WRITE)
    assert tenant.readings == 2  # 20 calls of a 4,500-request headroom


async def test_headroom_comes_back_as_the_agents_own_requests_leave_the_window():
    clock = FakeClock()
    settings = QuotaSettings(share=0.5, reserve=0.0, burst=None, max_wait=1.0)
    pacer = QuotaPacer(None, settings, clock)
    pacer.info = ThresholdInfo(threshold=20, timeframe_minutes=1.0, current=0)
    # Its allowance is ten; two are kept for the readings while it is spent (twice a window).
    assert pacer.spent_interval() == 30.0
    for _ in range(8):
        await pacer.acquire(Kind.WRITE)
    with pytest.raises(QuotaWaitTooLong) as spent:
        await pacer.acquire(Kind.WRITE)
    assert 0 < spent.value.retry_in <= 60.0
    clock.advance(60.0)  # the first of them have left the rolling minute
    await pacer.acquire(Kind.WRITE)


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


async def test_after_an_outage_usage_is_read_again_before_the_next_burst():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=500)
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.5), clock)
    await pacer.acquire(Kind.WRITE)
    tenant.current = 6_000  # meanwhile, other integrations used most of the hour
    pacer.expire_reading()
    await pacer.acquire(Kind.WRITE)
    assert tenant.readings == 2
    assert pacer.usage >= 0.6
    assert pacer.spacing(Kind.WRITE) is not None  # no burst past the tier


async def test_a_tenant_full_of_others_is_read_again_within_its_window():
    """A reading taken while other integrations (or agents) filled the tenant leaves this agent
    no headroom, and none of its own requests will leave the window to give it back: only a
    new reading can. With a one-minute window it comes within half the window, not after the
    five minutes a quiet hour-long window waits between readings."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=9_500, minutes=1.0)  # an hour in a minute
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.5, max_wait=1.0), clock)
    with pytest.raises(QuotaWaitTooLong) as spent:
        await pacer.acquire(Kind.WRITE)
    assert spent.value.retry_in <= 60.0 / 2
    tenant.current = 2_000  # the others' burst has left the window
    clock.advance(spent.value.retry_in)
    await pacer.acquire(Kind.WRITE)
    assert tenant.readings == 2


async def test_agents_seen_at_work_are_remembered_while_the_window_holds_their_requests():
    """Ten agents seen in the tenant's growth stay counted while their requests are in the
    window, and after it as long as the count leaves room for them: an agent that forgot them
    sooner would take the share of all ten for itself the moment they all hold back."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=0, minutes=1.0)  # an hour in a minute
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.05, max_wait=0.0), clock)
    for _ in range(40):  # its first calls, while nine others send nine times as many
        try:
            await pacer.acquire(Kind.WRITE)
        except QuotaWaitTooLong:
            break
        tenant.request()
        tenant.current += 9
        clock.advance(0.01)
    assert pacer.active_agents() >= 9
    clock.advance(45.0)  # all of them held back since: their requests are still in the window
    assert pacer.active_agents() >= 9
    clock.advance(20.0)  # a window later, with no reading saying otherwise, still nine
    assert pacer.active_agents() >= 9
    tenant.current = 0  # every request has left: a reading shows only this agent's own
    for _ in range(30):
        try:
            await pacer.acquire(Kind.WRITE)
        except QuotaWaitTooLong:
            break
        tenant.request()
        clock.advance(0.5)
    assert pacer.active_agents() == 1


@pytest.mark.parametrize("answer", [0, -50])
async def test_a_count_below_the_agents_own_requests_is_not_believed(answer: int, caplog) -> None:
    """The other integrations hold 3,000; the count then answers `answer` (a lie, or a reset
    the window cannot have had): the agent keeps the others as last seen, says so once, and
    its own requests still count against it."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=3_000)
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.5, max_wait=0.0), clock)
    for _ in range(100):
        await pacer.acquire(Kind.WRITE)
        tenant.request()
    assert pacer.others >= 3_000
    tenant.current = answer
    sent = 0
    for _ in range(5_000):
        try:
            await pacer.acquire(Kind.WRITE)
        except QuotaWaitTooLong:
            break
        sent += 1
    assert pacer.others >= 3_000
    assert 100 + sent <= 0.5 * (9_000 - 3_000) + 1  # the share of what the others leave
    assert caplog.text.count("is not believed") == 1


async def calls_in(pacer: QuotaPacer, tenant: Tenant, clock: FakeClock, seconds: float) -> int:
    """Calls the pacer lets go in `seconds`, one every tenth of a second at most."""
    sent, end = 0, clock.monotonic() + seconds
    while clock.monotonic() < end:
        try:
            await pacer.acquire(Kind.WRITE)
        except QuotaWaitTooLong:
            clock.advance(1.0)
            continue
        tenant.request()
        sent += 1
        clock.advance(0.1)
    return sent


@pytest.mark.parametrize("retry_after", [5.0, 30.0])
async def test_after_a_429_a_reading_of_a_quiet_tenant_ends_the_slow_ramp_however_short_the_stop(
    retry_after: float,
) -> None:
    """A short Retry-After ends the stop before the first reading may go; the reading then
    shows the tenant at 6 %: calls go at full pace again, as after a long stop."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=600)
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.5, max_wait=60.0), clock)
    await calls_in(pacer, tenant, clock, 6.0)
    pacer.on_quota_exceeded(retry_after)
    await calls_in(pacer, tenant, clock, max(retry_after, 10.0) + 1.0)
    assert await calls_in(pacer, tenant, clock, 30.0) >= 250  # ten a second, as before


async def test_a_thread_limit_429_halves_the_pace_and_does_not_drop_it_to_the_hourly_share():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=600)
    settings = QuotaSettings(share=0.5, max_wait=60.0)
    pacer = QuotaPacer(tenant.read, settings, clock)
    await calls_in(pacer, tenant, clock, 5.0)
    pacer.on_thread_limited()
    hourly = settings.share * 9_000 / 3_600  # 1.25 a second
    assert pacer.rate() >= 4 * hourly
    assert await calls_in(pacer, tenant, clock, 30.0) >= 100


async def test_a_tenant_filled_by_others_for_seconds_is_read_again_within_half_a_minute():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=600)
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.5, max_wait=0.0), clock)
    await calls_in(pacer, tenant, clock, 1.0)
    tenant.current = 10_000  # another integration's spike fills the tenant
    pacer.expire_reading()
    with pytest.raises(QuotaWaitTooLong):
        await pacer.acquire(Kind.WRITE)
    tenant.current = 700  # the spike's requests have left the window
    waited = 0.0
    while True:
        try:
            await pacer.acquire(Kind.WRITE)
            break
        except QuotaWaitTooLong:
            clock.advance(1.0)
            waited += 1.0
    assert waited <= 31.0
