"""The fleet without Redis: agents see each other in the tenant's count, start apart after an
outage, and twenty of them bursting at once keep the tenant under the configured share."""

from __future__ import annotations

import bisect
import random

from agent.clock import FakeClock
from agent.resilience.active_agents import ActiveAgents
from agent.resilience.bulkhead import Kind
from agent.resilience.quota import QuotaPacer, QuotaSettings, QuotaWaitTooLong, ThresholdInfo


class Tenant:
    """The tenant's request count in its rolling window, as ThresholdInformation reports it."""

    def __init__(
        self, clock: FakeClock, threshold: int, others: int, minutes: float = 60.0
    ) -> None:
        self.clock = clock
        self.threshold = threshold
        self.window = minutes * 60.0
        self.times: list[float] = [clock.monotonic() - 1.0] * others  # in order, oldest first

    def request(self) -> None:
        now = self.clock.monotonic()
        assert now >= self.times[-1], "the clock never goes back"
        self.times.append(now)

    def count(self, now: float) -> int:
        """Requests at times t with now - window < t <= now (a bisection of the ordered times)."""
        start = bisect.bisect_right(self.times, now - self.window)
        return bisect.bisect_right(self.times, now) - start

    async def read(self) -> ThresholdInfo:
        self.request()  # the reading counts itself
        return ThresholdInfo(self.threshold, self.window / 60.0, self.count(self.clock.monotonic()))


def test_the_tenants_growth_beyond_our_own_calls_counts_the_agents_at_work():
    agents = ActiveAgents()
    agents.observe(0.0, tenant=0, own_sent=0)
    agents.observe(1.0, tenant=10 + 90, own_sent=10)  # 10 ours, 90 others'
    assert agents.count(1.0) == 10
    agents.observe(2.0, tenant=130, own_sent=20)  # 10 ours, 20 others': the busier one stays
    assert agents.count(2.0) == 10


def test_a_reading_after_too_few_own_calls_says_nothing_and_the_policy_is_a_floor():
    agents = ActiveAgents(fleet_size=5)
    agents.observe(0.0, tenant=100, own_sent=0)
    agents.observe(1.0, tenant=400, own_sent=1)  # one own call: no sample
    assert not agents.seen(1.0)
    assert agents.count(1.0) == 5
    agents.observe(2.0, tenant=420, own_sent=11)  # ten own, ten others': two agents, policy five
    assert agents.seen(2.0)
    assert agents.count(2.0) == 5


def test_a_crowd_whose_first_bursts_leave_the_window_together_is_still_counted():
    """Ten agents burst at once; a window later their first requests leave as each sends as
    many again, so the count does not grow at all: still ten, not one alone."""
    agents = ActiveAgents()
    agents.observe(0.0, tenant=0, own_sent=0)
    agents.observe(2.0, tenant=100, own_sent=10, own_held=10)
    assert agents.count(2.0) >= 10
    agents.observe(3600.5, tenant=100, own_sent=11, own_held=10)  # the reading itself
    agents.observe(3602.0, tenant=100, own_sent=21, own_held=10)  # 10 left, 10 came, each
    assert agents.count(3602.0) >= 10


def test_the_count_falls_when_the_tenants_count_leaves_no_room_for_the_others():
    agents = ActiveAgents()
    agents.observe(0.0, tenant=0, own_sent=0)
    agents.observe(2.0, tenant=100, own_sent=10, own_held=10)
    assert agents.count(2.0) >= 10
    agents.observe(1800.0, tenant=100, own_sent=11, own_held=11)  # they hold their requests
    assert agents.count(1800.0) >= 10
    # A window on, the others sent nothing more: only this agent's requests are counted.
    agents.observe(3700.0, tenant=12, own_sent=24, own_held=12)
    assert agents.count(3700.0) == 1


def test_a_lone_agent_beside_an_integrations_steady_use_is_no_crowd():
    """Another integration sends one request every two seconds all along; this agent sends a
    batch of twenty now and then and reads before and after (an idle reading between)."""
    agents = ActiveAgents()
    tenant, own, at = 1800, 0, 0.0
    agents.observe(at, tenant, own)
    for _ in range(12):  # an hour and more: batches every five minutes
        at += 2.0
        own += 20
        tenant += 20 + 1 - 1  # the batch, and the integration's one in, one out
        agents.observe(at, tenant, own, own_held=min(own, 240))
        at += 298.0
        own += 1
        tenant += 1  # the idle reading; the integration's requests come and go evenly
        agents.observe(at, tenant, own, own_held=min(own, 240))
    assert agents.count(at) == 1


async def test_agents_back_from_an_outage_start_apart_and_alone_one_starts_at_once():
    clock = FakeClock()
    settings = QuotaSettings(fleet_size=20, jitter_per_agent=0.25)
    starts = []
    for seed in range(20):
        pacer = QuotaPacer(None, settings, clock, rng=random.Random(seed))
        pacer.info = ThresholdInfo(10_000, 60.0, 0)
        pacer.expire_reading()
        begun = clock.monotonic()
        await pacer.acquire(Kind.WRITE)
        starts.append(clock.monotonic() - begun)
    assert max(starts) <= 0.25 * 19
    assert len({round(s, 3) for s in starts}) == 20  # every one at a moment of its own
    assert max(starts) - min(starts) > 1.0
    alone = QuotaPacer(None, QuotaSettings(), clock)
    alone.expire_reading()
    begun = clock.monotonic()
    await alone.acquire(Kind.WRITE)
    assert clock.monotonic() == begun


async def twenty_agents_burst(settings: QuotaSettings) -> tuple[Tenant, list[QuotaPacer]]:
    """Twenty agents, each with 400 queued writes, reconnect at the same moment; each sends
    whenever its pacer lets it (round-robin, the clock moving 10 ms a round)."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, others=500)
    pacers = [
        QuotaPacer(tenant.read, settings, clock, rng=random.Random(seed)) for seed in range(20)
    ]
    queued = [400] * len(pacers)
    peak = 0
    for _ in range(30_000):
        for i, pacer in enumerate(pacers):
            if not queued[i]:
                continue
            try:
                await pacer.acquire(Kind.WRITE)
            except QuotaWaitTooLong:
                continue
            tenant.request()
            queued[i] -= 1
        peak = max(peak, tenant.count(clock.monotonic()))
        clock.advance(0.01)
    tenant.peak = peak  # type: ignore[attr-defined]
    return tenant, pacers


async def test_twenty_agents_bursting_after_an_outage_keep_the_tenant_under_the_share():
    settings = QuotaSettings(share=0.5, max_wait=0.0)
    tenant, pacers = await twenty_agents_burst(settings)
    # 8,000 writes queued; what the 500 of the other integrations leave, at most half of it.
    fleet_peak = tenant.peak - 500  # type: ignore[attr-defined]
    assert fleet_peak <= 0.5 * (10_000 - 500)
    assert fleet_peak >= 0.2 * (10_000 - 500)  # the fleet was not starved either
    assert max(p.active_agents() for p in pacers) >= 10


async def office(
    agents: int,
    windows: int,
    step: float,
    *,
    share: float = 0.05,
    others: int = 0,
    minutes: float = 60.0,
) -> int:
    """`agents` with unlimited work reconnect at the same moment and keep sending for `windows`
    hours, each whenever its pacer lets it (round-robin within a step of `step` seconds, the
    bulkheads' limit of calls per step); the tenant's other integrations send `others` an hour,
    evenly. Returns the most requests of the agents in the tenant's window at any step."""
    clock = FakeClock()
    start = clock.monotonic()
    tenant = Tenant(clock, threshold=10_000, others=0, minutes=minutes)
    window = tenant.window
    tenant.times = [start - window + window * (k + 0.5) / others for k in range(others)]
    tenant.times = tenant.times or [start - 1]
    every = window / others if others else float("inf")
    due = start + every / 2
    settings = QuotaSettings(share=share, max_wait=0.0)
    pacers = [QuotaPacer(tenant.read, settings, clock, rng=random.Random(i)) for i in range(agents)]
    peak = 0
    for _ in range(int(windows * window / step)):
        waiting: set[int] = set()
        for _ in range(max(1, round(30 * step))):
            for i, pacer in enumerate(pacers):
                if i in waiting:
                    continue
                try:
                    await pacer.acquire(Kind.WRITE)
                except QuotaWaitTooLong:
                    waiting.add(i)
                    continue
                tenant.request()
        while due <= clock.monotonic():
            bisect.insort(tenant.times, due)
            due += every
        peak = max(peak, tenant.count(clock.monotonic()) - others)
        clock.advance(step)
    return peak


async def test_an_office_draining_for_hours_keeps_the_share_in_every_window():
    """Ten agents reconnect together with more work than the share allows and keep at it for
    four hours: their first requests leave the window together, then as they come."""
    assert await office(10, windows=4, step=2.0) <= 0.05 * 9_000


async def test_a_small_office_drifting_out_of_step_keeps_the_share():
    assert await office(3, windows=10, step=5.0) <= 0.05 * 9_000


async def test_twenty_agents_beside_another_integration_keep_the_share_of_what_it_leaves():
    assert await office(20, windows=4, step=2.0, others=500) <= 0.05 * (9_000 - 500)


async def test_an_office_beside_integrations_busy_for_the_window_keeps_the_share():
    """A tenant whose window is a minute, its other integrations sending 2,000 in every one of
    them (33 a second, each leaving as the next comes): agents' bursts must still be seen."""
    peak = await office(10, windows=6, step=0.1, others=2_000, minutes=1.0)
    assert peak <= 0.05 * (9_000 - 2_000)


async def test_a_policy_fleet_size_caps_even_the_first_burst():
    settings = QuotaSettings(share=0.5, max_wait=0.0, fleet_size=20, probe_requests=10_000)
    tenant, _ = await twenty_agents_burst(settings)
    assert tenant.peak - 500 <= 0.5 * (10_000 - 500)  # type: ignore[attr-defined]
