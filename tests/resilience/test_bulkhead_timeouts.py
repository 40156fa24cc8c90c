"""Bulkheads keep work kinds apart, the endpoint gate enforces Autotask's limit, timeouts adapt."""

from __future__ import annotations

import asyncio

import httpx

from agent.resilience.bulkhead import Bulkheads, EndpointLimiter, Kind
from agent.resilience.timeouts import AdaptiveTimeouts, TimeoutSettings


async def hold(limiter: EndpointLimiter, endpoint: str, kind: Kind, release: asyncio.Event, log):
    async with limiter.slot(endpoint, kind):
        log.append((kind, "in"))
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_no_more_than_three_calls_in_flight_per_endpoint():
    limiter = EndpointLimiter()
    release = asyncio.Event()
    log: list = []
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with limiter.slot("Tickets", Kind.WRITE):
            peak = max(peak, limiter.in_flight("Tickets"))
            await release.wait()

    tasks = [asyncio.create_task(call()) for _ in range(8)]
    await settle()
    assert limiter.in_flight("Tickets") == 3
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 3
    assert limiter.in_flight("Tickets") == 0
    assert not log


async def test_background_reads_leave_a_slot_free_for_a_technicians_write():
    limiter = EndpointLimiter()
    release = asyncio.Event()
    log: list = []
    reads = [
        asyncio.create_task(hold(limiter, "Tickets", Kind.READ, release, log)) for _ in range(6)
    ]
    await settle()
    assert limiter.in_flight("Tickets") == 2  # the third slot is kept for writes
    write = asyncio.create_task(hold(limiter, "Tickets", Kind.WRITE, release, log))
    await settle()
    assert (Kind.WRITE, "in") in log  # the edit got in at once, despite four waiting reads
    release.set()
    await asyncio.gather(*reads, write)


async def test_waiting_writes_are_served_before_waiting_reads():
    limiter = EndpointLimiter()
    gates = [asyncio.Event() for _ in range(3)]
    log: list = []
    holders = [
        asyncio.create_task(hold(limiter, "Tickets", Kind.WRITE, gates[i], log)) for i in range(3)
    ]
    await settle()
    later = asyncio.Event()
    read = asyncio.create_task(hold(limiter, "Tickets", Kind.READ, later, log))
    await settle()
    write = asyncio.create_task(hold(limiter, "Tickets", Kind.WRITE, later, log))
    await settle()
    gates[0].set()
    await settle()
    assert log[-1] == (Kind.WRITE, "in")  # the write queued after the read went first
    later.set()
    for g in gates:
        g.set()
    await asyncio.gather(*holders, read, write)


async def test_a_cancelled_waiter_does_not_leak_a_slot():
    limiter = EndpointLimiter(limit=1)
    release = asyncio.Event()
    log: list = []
    holder = asyncio.create_task(hold(limiter, "Tickets", Kind.WRITE, release, log))
    await settle()
    waiter = asyncio.create_task(hold(limiter, "Tickets", Kind.WRITE, release, log))
    await settle()
    waiter.cancel()
    release.set()
    await asyncio.gather(holder, waiter, return_exceptions=True)
    assert limiter.in_flight("Tickets") == 0


async def test_lowered_limit_applies_and_can_be_restored():
    limiter = EndpointLimiter()
    limiter.set_limit("Tickets", 1)
    release = asyncio.Event()
    log: list = []
    tasks = [
        asyncio.create_task(hold(limiter, "Tickets", Kind.WRITE, release, log)) for _ in range(3)
    ]
    await settle()
    assert limiter.in_flight("Tickets") == 1
    limiter.set_limit("Tickets", 3)
    await settle()
    assert limiter.in_flight("Tickets") == 3
    release.set()
    await asyncio.gather(*tasks)


async def test_endpoints_are_limited_independently():
    limiter = EndpointLimiter()
    release = asyncio.Event()
    log: list = []
    tasks = [
        asyncio.create_task(hold(limiter, ep, Kind.WRITE, release, log))
        for ep in ("Tickets", "Tickets", "Tickets", "TimeEntries", "TimeEntries")
    ]
    await settle()
    assert limiter.in_flight("Tickets") == 3 and limiter.in_flight("TimeEntries") == 2
    release.set()
    await asyncio.gather(*tasks)


async def test_a_busy_refresh_pool_cannot_take_the_write_pool():
    pools = Bulkheads({Kind.READ: 2, Kind.WRITE: 2})
    release = asyncio.Event()

    async def use(kind: Kind) -> None:
        async with pools.slot(kind):
            await release.wait()

    reads = [asyncio.create_task(use(Kind.READ)) for _ in range(10)]
    await settle()
    assert pools.in_use[Kind.READ] == 2
    write = asyncio.create_task(use(Kind.WRITE))
    await settle()
    assert pools.in_use[Kind.WRITE] == 1
    release.set()
    await asyncio.gather(*reads, write)


def test_timeout_defaults_until_enough_latency_is_seen():
    timeouts = AdaptiveTimeouts(TimeoutSettings(read_default=30.0, min_samples=20))
    for _ in range(19):
        timeouts.observe("Tickets", 0.2)
    assert timeouts.for_endpoint("Tickets").read == 30.0


def test_read_timeout_is_four_times_p95_clamped_with_separate_connect_limit():
    s = TimeoutSettings(connect=3.0, read_min=2.0, read_max=60.0, min_samples=20)
    timeouts = AdaptiveTimeouts(s)
    for i in range(100):
        timeouts.observe("Tickets", 1.0 if i < 95 else 5.0)
        timeouts.observe("Tickets/query", 0.01)
        timeouts.observe("Companies", 100.0)
    t = timeouts.for_endpoint("Tickets")
    assert isinstance(t, httpx.Timeout)
    assert t.read == 4.0 and t.connect == 3.0
    assert timeouts.for_endpoint("Tickets/query").read == 2.0  # clamped to the minimum
    assert timeouts.for_endpoint("Companies").read == 60.0  # clamped to the maximum
    assert timeouts.for_endpoint("Companies").connect == 3.0
