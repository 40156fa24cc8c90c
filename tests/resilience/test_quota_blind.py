"""What the pacer does between readings and after a 429: a jump in the other integrations' use
is seen within a few dozen calls, a huge Retry-After cannot stop the agent for good, and agents
at any share leave the tenant open. Pacers on an injected clock against a counting tenant."""

from __future__ import annotations

import asyncio

import pytest

from agent.autotask.metadata import threshold_from_wire
from agent.autotask.wire import WireTypeError
from agent.clock import FakeClock
from agent.resilience.bulkhead import Kind
from agent.resilience.quota import (
    QuotaPacer,
    QuotaSettings,
    QuotaWaitTooLong,
    ThresholdInfo,
    TokenBucket,
)
from tests.resilience.pacing import round_robin, send_up_to
from tests.resilience.test_quota import Tenant


async def test_a_jump_in_the_others_use_mid_burst_is_seen_within_twenty_calls():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=500)  # 5 % used by other integrations
    pacer = QuotaPacer(tenant.read, QuotaSettings(share=0.5, max_wait=1.0), clock)
    assert await send_up_to(pacer, tenant.request, 60) == 60
    tenant.current += 9_200  # the others take the tenant to 97 % in a moment
    after = await send_up_to(pacer, tenant.request, 400)
    assert after <= QuotaSettings().burst_reread_calls  # blind for at most twenty calls
    assert tenant.current < tenant.threshold  # the tenant stays open for everyone


async def test_calls_wait_for_a_reading_under_way_once_forty_went_blind():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=500)
    answer = asyncio.Event()

    async def slow_reading():
        await answer.wait()
        return await tenant.read()

    pacer = QuotaPacer(slow_reading, QuotaSettings(share=0.5), clock)
    granted = 0

    async def call() -> None:
        nonlocal granted
        await pacer.acquire(Kind.WRITE)
        granted += 1

    calls = [asyncio.create_task(call()) for _ in range(100)]
    for _ in range(10):
        await asyncio.sleep(0)
    # the first call waits for the first reading; the others went on the old estimate until
    # a probe's worth had gone without one (how many agents spend beside it is not known yet:
    # twenty, of a headroom of thousands), and the rest wait for its answer
    assert granted == pacer.probe() == QuotaSettings().probe_requests
    answer.set()
    await asyncio.gather(*calls)
    assert granted == 100
    assert tenant.readings >= 2


async def test_a_huge_retry_after_is_capped_at_the_window():
    clock = FakeClock()
    pacer = QuotaPacer(None, QuotaSettings(), clock)  # nothing to read: the cap alone
    assert pacer.on_quota_exceeded(1e9) == pytest.approx(3600.0)
    clock.advance(3600.0)
    await pacer.acquire(Kind.WRITE)


@pytest.mark.parametrize("retry_after", [1e9, 3600.0])
async def test_a_reading_showing_room_ends_the_stop_after_a_429(retry_after: float):
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=500)
    settings = QuotaSettings(share=0.5)
    pacer = QuotaPacer(tenant.read, settings, clock)
    await pacer.acquire(Kind.WRITE)
    comeback = pacer.on_quota_exceeded(retry_after)
    assert comeback == pytest.approx(settings.hold_reading_after)  # the op is told: 10 s
    start = clock.monotonic()
    await pacer.acquire(Kind.WRITE)  # the reading goes past the stop and shows 5 % used
    assert clock.monotonic() - start == pytest.approx(settings.hold_reading_after)
    assert tenant.readings == 2
    assert pacer.multiplier == 1.0  # so far below the threshold: back to full pace
    assert pacer.terms()[1] > 1000  # bursts included, refilling within a minute
    assert await send_up_to(pacer, tenant.request, 100) == 100
    assert clock.monotonic() - start < settings.hold_reading_after + 100 / 50  # >= 50 a second


async def test_while_the_tenant_stays_over_its_threshold_the_stop_holds_and_is_read_again():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=10_000)
    settings = QuotaSettings(share=0.5, max_wait=5.0)
    pacer = QuotaPacer(tenant.read, settings, clock)
    pacer.on_quota_exceeded(3600.0)
    for _ in range(3):
        clock.advance(settings.hold_reading_after)
        with pytest.raises(QuotaWaitTooLong) as held:
            await pacer.acquire(Kind.WRITE)
        assert held.value.retry_in == pytest.approx(settings.hold_reading_after)
    assert tenant.readings == 3  # one reading each time round, none of the calls
    tenant.current = 7_000  # the window rolled on
    clock.advance(settings.hold_reading_after)
    await pacer.acquire(Kind.WRITE)
    assert pacer.multiplier < 1.0  # near the threshold: the ramp back starts from a quarter


async def test_agents_at_full_share_leave_the_reserve_of_the_threshold_unspent():
    clock = FakeClock()
    tenant = Tenant(clock, threshold=2_000, current=100)
    settings = QuotaSettings(share=1.0, max_wait=0.0)
    pacers = [QuotaPacer(tenant.read, settings, clock) for _ in range(3)]
    peaks = [0]
    await round_robin(
        pacers,
        tenant.request,
        clock,
        rounds=3000,
        step=0.05,
        after=lambda: peaks.append(max(peaks.pop(), tenant.current)),
    )
    peak = peaks[0]
    reserve = settings.reserve * tenant.threshold
    # each agent goes blind for at most twenty calls; beyond that the reserve is kept
    assert peak <= tenant.threshold - reserve + len(pacers) * settings.burst_reread_calls
    assert peak < tenant.threshold
    # and between them they used much of the rest (each takes its part once it sees the others
    # at work, so together they settle below it)
    assert peak >= 0.5 * (tenant.threshold - reserve)


async def test_once_a_reading_finds_the_tenant_still_full_queued_calls_give_up_at_once():
    """Hundreds of operations queued behind six write slots must not each wait for the stop in
    turn: after the first reading finds the tenant still over its threshold, every call gives up
    at once (its work stays queued), until a new 429 or a reading showing room."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=10_000)
    settings = QuotaSettings(share=0.5, max_wait=30.0)
    pacer = QuotaPacer(tenant.read, settings, clock)
    pacer.on_quota_exceeded(3600.0)
    start = clock.monotonic()
    for _ in range(50):
        with pytest.raises(QuotaWaitTooLong):
            await pacer.acquire(Kind.WRITE)
    assert clock.monotonic() - start <= settings.hold_reading_after + 0.01
    assert tenant.readings == 1
    tenant.current = 5_000  # the window rolled on; the next reading ends the stop
    clock.advance(settings.hold_reading_after)
    await pacer.refresh_if_due()
    await pacer.acquire(Kind.WRITE)


@pytest.mark.parametrize(
    "failure", [ConnectionError("reset"), ValueError("the count is not a number")]
)
async def test_readings_that_fail_leave_no_more_than_forty_calls_blind(failure: Exception):
    """The other integrations jump from 2,000 to 8,700 as the readings start failing: the agent
    goes on for at most `blind_calls` on its old estimate, then waits; readings are tried again
    after a growing pause, and the first that answers shows the jump."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=2_000)
    failing = False

    async def reading() -> ThresholdInfo:
        if failing:
            tenant.request()  # a failed reading reached the server all the same
            raise failure
        return await tenant.read()

    settings = QuotaSettings(share=0.5, max_wait=0.0)
    pacer = QuotaPacer(reading, settings, clock)
    assert await send_up_to(pacer, tenant.request, 200) == 200  # seen alone, bursting
    failing, tenant.current = True, tenant.current + 6_700
    jumped, sent = tenant.current, 0
    for _ in range(600):  # ten minutes of trying
        sent += await send_up_to(pacer, tenant.request, 30)
        clock.advance(1.0)
    assert sent <= settings.blind_calls
    failed = tenant.current - jumped - sent  # the readings tried: a few, not one a call
    assert 3 <= failed <= 10
    failing = False
    clock.advance(settings.max_interval)
    before = tenant.current
    await send_up_to(pacer, tenant.request, 2_000)
    # What the others left below the reserve, at most half of it, once a reading shows them.
    assert tenant.current - before <= 0.5 * (9_000 - before) + 1


@pytest.mark.parametrize(
    "body",
    [
        {"requestThresholdTimeframe": 0},
        {"requestThresholdTimeframe": -60},
        {"externalRequestThreshold": 0},
        {"currentTimeframeRequestCount": -1},
        {"currentTimeframeRequestCount": None},
        {"currentTimeframeRequestCount": "many"},
        {"externalRequestThreshold": 1e300},
        {"requestThresholdTimeframe": 100_000},
    ],
)
def test_an_impossible_threshold_reading_is_refused(body: dict[str, object]):
    wire = {
        "externalRequestThreshold": 10_000,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 100,
        **body,
    }
    with pytest.raises(WireTypeError):
        threshold_from_wire(wire)
    with pytest.raises(ValueError):
        ThresholdInfo.from_json(wire)


class RoundTripBudget(TokenBucket):
    """A shared budget's answer comes after a round trip: other calls run meanwhile."""

    async def try_take(
        self, cost: float, rate: float, capacity: float, window: float = 3600.0
    ) -> float:
        for _ in range(3):
            await asyncio.sleep(0)
        return self.take_now(cost, rate, capacity)


async def test_calls_asking_a_shared_budget_at_once_go_no_further_blind():
    """Thirty-two calls at a time against a budget that answers after a round trip: once the
    readings fail, still no more than `blind_calls` go after the last one that answered."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, current=2_000)
    failing = False

    async def reading() -> ThresholdInfo:
        if failing:
            raise ConnectionError("reset")
        return await tenant.read()

    settings = QuotaSettings(share=0.5, max_wait=0.0)
    pacer = QuotaPacer(reading, settings, clock, budget=RoundTripBudget(clock, float("inf")))
    assert await send_up_to(pacer, tenant.request, 100) == 100
    failing = True
    before = tenant.current

    await asyncio.gather(*(send_up_to(pacer, tenant.request, 20) for _ in range(32)))
    assert tenant.current - before <= settings.blind_calls


async def test_a_call_cancelled_while_the_budget_answers_is_not_counted():
    """The agent closes while calls wait for a shared budget's answer: none of them went, and
    none is counted as sent (nor remembered as sent after a restart)."""
    clock = FakeClock()
    answer = asyncio.Event()

    class StalledBudget(TokenBucket):
        async def try_take(
            self, cost: float, rate: float, capacity: float, window: float = 3600.0
        ) -> float:
            await answer.wait()
            return self.take_now(cost, rate, capacity)

    pacer = QuotaPacer(None, QuotaSettings(), clock, budget=StalledBudget(clock, float("inf")))
    pacer.info = ThresholdInfo(10_000, 60.0, 100)
    calls = [asyncio.ensure_future(pacer.acquire(Kind.WRITE)) for _ in range(30)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert pacer.own() == 30  # counted while they wait: calls asking meanwhile see them
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    assert pacer.own() == 0 and pacer.headroom() > 1_000
