"""Fleet mode against a real Redis: one shared budget, shared breakers, and a local fallback."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from agent.clock import FakeClock
from agent.resilience.breaker import BreakerRegistry, BreakerSettings, BreakerState
from agent.resilience.fleet import FleetLink
from agent.resilience.pipeline import Pipeline
from agent.resilience.quota import QuotaPacer, QuotaSettings
from agent.simulator import Simulator, serve
from tests.conftest import REDIS_HOST, REDIS_PORT

REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/13"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"fieldsync-test-{uuid.uuid4().hex}"
    yield name
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{name}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.redis
async def test_agents_drawing_from_one_budget_count_each_other_without_a_fleet_size(prefix: str):
    """Three agents, no policy: each learns from Redis how many draw from the budget, takes
    its part of the share; an agent that stopped drawing a window ago is no longer counted."""
    links = [FleetLink(REDIS_URL, prefix) for _ in range(3)]
    try:
        for link in links:
            await link.try_take(1, 100.0, 100, window=2.0)
        assert links[0].agents() == 1 and links[2].agents() == 3  # as far as each has seen
        await links[0].try_take(1, 100.0, 100, window=2.0)
        assert links[0].agents() == 3
        pacer = QuotaPacer(None, QuotaSettings(share=0.5), FakeClock(), budget=links[0])
        pacer.reads = 1  # the tenant's window is known
        assert pacer.active_agents() == 3
        assert pacer.headroom() <= 0.5 * 9_000 / 3
        # A window so short that the others' last draws are already older than it (the roster
        # ages on the Redis server's clock, which no test can move).
        await links[0].try_take(1, 100.0, 100, window=1e-6)
        assert links[0].agents() == 1
    finally:
        for link in links:
            await link.close()


@pytest.mark.redis
async def test_two_agents_draw_from_one_shared_budget(prefix: str):
    a, b = FleetLink(REDIS_URL, prefix), FleetLink(REDIS_URL, prefix)
    try:
        granted = [await a.try_take(1, 0.001, 4) for _ in range(2)]
        granted += [await b.try_take(1, 0.001, 4) for _ in range(2)]
        assert granted == [0.0] * 4
        assert await a.try_take(1, 0.001, 4) > 100  # b emptied the bucket a drew from
        assert await b.try_take(1, 0.001, 4) > 100
        assert a.fallbacks == b.fallbacks == 0
    finally:
        await a.close()
        await b.close()


@pytest.mark.redis
async def test_an_open_breaker_is_adopted_by_the_other_agents(prefix: str):
    clock_a, clock_b = FakeClock(), FakeClock()
    a = FleetLink(REDIS_URL, prefix, clock=clock_a, poll_interval=0.0)
    b = FleetLink(REDIS_URL, prefix, clock=clock_b, poll_interval=0.0)
    settings = BreakerSettings(min_calls=2, break_seconds=20.0)
    reg_a, reg_b = BreakerRegistry(settings, clock_a), BreakerRegistry(settings, clock_b)
    reg_a.hub.subscribe(a.on_breaker_event)
    reg_b.hub.subscribe(b.on_breaker_event)
    try:
        tickets = reg_a.get("zone5", "Tickets")
        for _ in range(2):
            tickets.failure(tickets.acquire())
        assert tickets.state is BreakerState.OPEN
        await a.sync(reg_a)
        await b.sync(reg_b)
        adopted = reg_b.get("zone5", "Tickets")
        assert adopted.state is BreakerState.OPEN
        assert 15.0 < adopted.opened_until - clock_b.monotonic() <= 20.0
        assert reg_b.get("zone5", "Companies").state is BreakerState.CLOSED
        # the adopted opening is not echoed back as a new one
        await b.sync(reg_b)
        assert b._changed == []
        # once a's breaker recovers, the board forgets it
        clock_a.advance(20.0)
        probe = tickets.acquire()
        for _ in range(settings.probes - 1):
            tickets.success(tickets.acquire())
        tickets.success(probe)
        assert tickets.state is BreakerState.CLOSED
        await a.sync(reg_a)
        client = aioredis.Redis.from_url(REDIS_URL)
        assert await client.hgetall(f"{prefix}:breakers") == {}
        await client.aclose()
    finally:
        await a.close()
        await b.close()


def members(
    prefix: str, n: int, break_seconds: float
) -> tuple[list[FakeClock], list[FleetLink], list[BreakerRegistry]]:
    """`n` agents of one fleet, each on its own clock, publishing their breakers' changes."""
    clocks = [FakeClock() for _ in range(n)]
    links = [FleetLink(REDIS_URL, prefix, clock=c, poll_interval=0.0) for c in clocks]
    settings = BreakerSettings(min_calls=2, break_seconds=break_seconds)
    regs = [BreakerRegistry(settings, c) for c in clocks]
    for link, reg in zip(links, regs, strict=True):
        reg.hub.subscribe(link.on_breaker_event)
    return clocks, links, regs


def trip(registry: BreakerRegistry, endpoint: str = "Tickets") -> None:
    breaker = registry.get("zone5", endpoint)
    while breaker.state is not BreakerState.OPEN:
        breaker.failure(breaker.acquire())


@pytest.mark.redis
@pytest.mark.parametrize("skew_a", [2 * 86_400.0, -10.0])
async def test_agents_whose_clocks_are_apart_agree_on_a_breaker(prefix: str, skew_a: float):
    """A's wall clock is two days ahead, or ten seconds behind: B holds A's 20 s break for
    20 s (the board is on the Redis server's clock), and ends it when A's probe closes it."""
    (clock_a, clock_b), (a, b), (reg_a, reg_b) = members(prefix, 2, break_seconds=20.0)
    clock_a.step_wall(skew_a)
    try:
        trip(reg_a)
        await a.sync(reg_a)
        await b.sync(reg_b)
        adopted = reg_b.get("zone5", "Tickets")
        assert adopted.state is BreakerState.OPEN
        assert 15.0 < adopted.opened_until - clock_b.monotonic() <= 20.0
        reg_a.get("zone5", "Tickets").reset("the probe succeeded")
        await a.sync(reg_a)
        await b.sync(reg_b)
        assert adopted.state is BreakerState.HALF_OPEN  # B tries for itself at once
    finally:
        await a.close()
        await b.close()


@pytest.mark.redis
async def test_a_strangers_entries_on_the_board_neither_stop_nor_hold_the_fleet(
    prefix: str, caplog: pytest.LogCaptureFixture
):
    """Entries no agent of this version wrote: unreadable ones are skipped (said once), and one
    that says three days holds a breaker no longer than its longest break."""
    b = FleetLink(REDIS_URL, prefix, clock=FakeClock(), poll_interval=0.0)
    reg_b = BreakerRegistry(BreakerSettings(max_break_seconds=300.0), b._clock)
    client = aioredis.Redis.from_url(REDIS_URL)
    key = f"{prefix}:breakers"
    seconds, _ = await client.time()
    try:
        await client.hset(key, "zone5\x1fTicketNotes", "not json {")
        await client.hset(key, "zone5\x1fCompanies", json.dumps({"until": "soon"}))
        await client.hset(key, "zone5\x1fContacts", json.dumps([1, 2]))
        await client.hset(key, b"\xff\xfe", json.dumps({"until": seconds + 60}))
        await client.hset(key, "zone5\x1fResources", "[" * 100_000)
        await client.hset(key, "zone5\x1fRoles", '{"until": 1' + "0" * 400 + "}")
        await client.hset(key, "zone5\x1fProjects", '{"until": NaN}')
        await client.hset(key, "zone5\x1fTickets", json.dumps({"until": seconds + 3 * 86_400}))
        with caplog.at_level("WARNING"):
            for _ in range(3):
                await b.sync(reg_b)
        assert caplog.text.count("cannot be read") == 7  # each said once
        held = reg_b.get("zone5", "Tickets")
        assert held.state is BreakerState.OPEN
        assert held.opened_until - b._clock.monotonic() <= 300.0
        assert reg_b.get("zone5", "TicketNotes").state is BreakerState.CLOSED
    finally:
        await client.aclose()
        await b.close()


@pytest.mark.redis
async def test_a_stale_entry_holds_a_breaker_for_one_longest_break_not_for_ever(prefix: str):
    """An entry that says three days (a foreign or stale one) stays on the board: the break it
    opens here ends after the longest break, polls do not renew it, and a probe may go."""
    clock = FakeClock()
    b = FleetLink(REDIS_URL, prefix, clock=clock, poll_interval=0.0)
    reg_b = BreakerRegistry(BreakerSettings(max_break_seconds=300.0), clock)
    client = aioredis.Redis.from_url(REDIS_URL)
    seconds, _ = await client.time()
    try:
        entry = json.dumps({"until": seconds + 3 * 86_400, "agent": "old"})
        await client.hset(f"{prefix}:breakers", "zone5\x1fTickets", entry)
        held = reg_b.get("zone5", "Tickets")
        for _ in range(10):
            await b.sync(reg_b)
            clock.advance(31.0)
        assert held.state is BreakerState.HALF_OPEN  # 310 s on: the probe may go
        await b.sync(reg_b)
        assert held.state is BreakerState.HALF_OPEN
    finally:
        await client.aclose()
        await b.close()


@pytest.mark.redis
async def test_an_agent_closing_its_breaker_leaves_another_agents_opening(prefix: str):
    _, links, regs = members(prefix, 3, break_seconds=40.0)
    a, b, c = links
    try:
        trip(regs[0])
        await a.sync(regs[0])
        trip(regs[2])  # C opens later: its entry replaces A's
        await c.sync(regs[2])
        regs[0].get("zone5", "Tickets").reset("the probe succeeded")
        await a.sync(regs[0])  # A closes: C's opening is not A's to remove
        await b.sync(regs[1])
        assert regs[1].get("zone5", "Tickets").state is BreakerState.OPEN
        regs[2].get("zone5", "Tickets").reset("the probe succeeded")
        await c.sync(regs[2])
        await b.sync(regs[1])
        assert regs[1].get("zone5", "Tickets").state is BreakerState.HALF_OPEN
    finally:
        for link in links:
            await link.close()


@pytest.mark.redis
async def test_a_board_of_another_type_is_no_outage(prefix: str, caplog: pytest.LogCaptureFixture):
    """The breakers' key holds a plain string: the board cannot be read (said once), the budget
    is still shared, and no outage is logged."""
    clock = FakeClock()
    link = FleetLink(REDIS_URL, prefix, clock=clock, poll_interval=0.0)
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.set(f"{prefix}:breakers", "not a hash")
        with caplog.at_level("INFO"):
            for _ in range(5):
                await link.sync(BreakerRegistry(clock=clock))
                assert await link.try_take(1, 100.0, 100) == 0.0
                clock.advance(10.0)
        assert caplog.text.count("breaker board cannot be read") == 1
        assert "unreachable" not in caplog.text
        assert link.fallbacks == 0 and link.connected
        assert await client.type(f"{prefix}:breakers") in (b"none", b"hash")  # replaced
    finally:
        await client.aclose()
        await link.close()


@pytest.mark.redis
@pytest.mark.parametrize("key", ["budget", "agents"])
async def test_a_budget_or_roster_key_of_another_type_is_replaced_not_an_outage(
    prefix: str, key: str
):
    link = FleetLink(REDIS_URL, prefix, clock=FakeClock())
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.set(f"{prefix}:{key}", "a stranger's value")
        for _ in range(3):
            assert await link.try_take(1, 100.0, 100) == 0.0
        assert link.fallbacks == 0 and link.agents() == 1
    finally:
        await client.aclose()
        await link.close()


@pytest.mark.redis
async def test_a_close_redis_failed_to_take_is_written_at_the_next_sync(prefix: str):
    (clock_a, _), (a, b), (reg_a, reg_b) = members(prefix, 2, break_seconds=40.0)
    assert a.retry_interval == 5.0
    real_remove = a._remove_own
    failures = [RedisConnectionError("stalled")]

    async def stalling(**kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return await real_remove(**kwargs)

    a._remove_own = stalling  # type: ignore[method-assign]
    try:
        trip(reg_a)
        await a.sync(reg_a)
        await b.sync(reg_b)
        assert reg_b.get("zone5", "Tickets").state is BreakerState.OPEN
        reg_a.get("zone5", "Tickets").reset("the probe succeeded")
        await a.sync(reg_a)  # Redis does not take the close
        clock_a.advance(5.0)
        await a.sync(reg_a)  # back: the close is written now
        await b.sync(reg_b)
        assert reg_b.get("zone5", "Tickets").state is BreakerState.HALF_OPEN
    finally:
        await a.close()
        await b.close()


@pytest.mark.redis
async def test_calls_syncing_at_once_as_a_breaker_closes_both_go_on(prefix: str):
    """Every call syncs the board before it goes: several at once publish the same close."""
    _, (a,), (reg_a,) = members(prefix, 1, break_seconds=40.0)
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        trip(reg_a)
        await a.sync(reg_a)
        reg_a.get("zone5", "Tickets").reset("the probe succeeded")
        await asyncio.gather(*(a.sync(reg_a) for _ in range(5)))
        assert await client.hgetall(f"{prefix}:breakers") == {}
        assert a.connected
    finally:
        await client.aclose()
        await a.close()


def test_one_directory_spelled_in_different_ways_is_one_fleet():
    from agent.api.fleet_link import fleet_prefix

    spellings = [
        "https://webservices.autotask.net/ATServicesRest/",
        "https://webservices.autotask.net/ATServicesRest",
        "HTTPS://WebServices.Autotask.net:443/atservicesrest/",
        "https://webservices.autotask.net./ATServicesRest",
        "https://webservices.autotask.net/./ATServicesRest/",
        "https://webservices.autotask.net/%41TServicesRest",
        "https://webservices.autotask.net//ATServicesRest",
    ]
    assert len({fleet_prefix(url, "Api@Example.com") for url in spellings}) == 1
    assert fleet_prefix(spellings[0], "api@example.com") != fleet_prefix(
        "https://webservices.autotask.net:8443/ATServicesRest/", "api@example.com"
    )


@pytest.mark.redis
async def test_a_call_made_while_the_board_is_being_read_waits_for_it(prefix: str):
    """Calls run concurrently: one that starts while another reads the fleet's breakers must
    not go out before that reading has opened the breaker another agent published."""
    clock_a, clock_b = FakeClock(), FakeClock()
    a = FleetLink(REDIS_URL, prefix, clock=clock_a)
    b = FleetLink(REDIS_URL, prefix, clock=clock_b)
    settings = BreakerSettings(min_calls=2, break_seconds=20.0)
    reg_a, reg_b = BreakerRegistry(settings, clock_a), BreakerRegistry(settings, clock_b)
    reg_a.hub.subscribe(a.on_breaker_event)
    try:
        entries = reg_a.get("zone5", "TimeEntries")
        for _ in range(2):
            entries.failure(entries.acquire())
        await a.sync(reg_a)
        reading = asyncio.ensure_future(b.sync(reg_b))
        await asyncio.sleep(0)  # the first call is now waiting for Redis's answer
        assert not reading.done()
        await b.sync(reg_b)  # the second call, at once after it
        assert reg_b.get("zone5", "TimeEntries").state is BreakerState.OPEN
        await reading
    finally:
        await a.close()
        await b.close()


async def test_without_redis_each_agent_falls_back_to_a_conservative_local_share():
    clock = FakeClock()
    link = FleetLink(
        f"redis://127.0.0.1:{closed_port()}/13",
        "fieldsync-test-down",
        clock=clock,
        expected_agents=4,
        socket_timeout=0.2,
    )
    try:
        assert await link.try_take(1, 4.0, 8) == 0.0  # nothing stops
        assert not link.connected
        assert await link.try_take(1, 4.0, 8) == 0.0  # 8 / 4 agents = a burst of 2
        assert await link.try_take(1, 4.0, 8) == pytest.approx(1.0)  # 4/s / 4 agents
        await link.sync(BreakerRegistry(clock=clock))  # no error either
        assert link.fallbacks == 3
        # the pipeline keeps working with it
        pipeline = Pipeline(
            clock=clock, pacer=QuotaPacer(None, QuotaSettings(burst=8), clock, link), fleet=link
        )

        async def fn(limits: object) -> str:
            return "sent"

        assert await pipeline.call(endpoint="Tickets", kind="write", fn=fn) == "sent"
    finally:
        await link.close()


async def test_redis_is_tried_again_after_the_retry_interval():
    clock = FakeClock()
    link = FleetLink(f"redis://127.0.0.1:{closed_port()}/13", "x", clock=clock, retry_interval=5.0)
    try:
        await link.try_take(1, 1.0, 1)
        assert not link.connected
        clock.advance(5.0)
        assert link.connected  # the next call tries Redis again
    finally:
        await link.close()


@pytest.mark.redis
@pytest.mark.socket
@pytest.mark.slow
async def test_three_agent_processes_share_one_budget_and_see_each_others_breakers(prefix: str):
    rate, burst, seconds = 10.0, 5.0, 1.0
    sim = Simulator(seed="fleet", tickets=20, threshold=int(rate * 3600))
    ticket_id = min(sim.tenant.records["Tickets"])
    sim.faults.error(503, route="companies*")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    async with serve(sim, port=0) as base:
        roles = ["trip", "watch", "watch"]
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.resilience.fleet_agent",
                base,
                REDIS_URL,
                prefix,
                role,
                str(seconds),
                str(ticket_id),
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for role in roles
        ]
        board = aioredis.Redis.from_url(REDIS_URL)
        try:
            for _ in range(3000):
                if int(await board.get(f"{prefix}:ready") or 0) == len(roles):
                    break
                if any(p.returncode is not None for p in procs):
                    break
                await asyncio.sleep(0.01)
            await board.set(f"{prefix}:go", 1)
        finally:
            await board.aclose()
        outputs = [await p.communicate() for p in procs]
        for (_, err), proc in zip(outputs, procs, strict=True):
            assert proc.returncode == 0, err.decode()[-2000:]
        reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
        tickets_and_readings = sim.limits.usage(sim.tenant.name) - 3  # the trip's 3 failures
    window = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    # every request that reached the server took a token from the one shared bucket
    assert tickets_and_readings <= burst + rate * window + 1
    # every agent got through (how many depends on the machine's speed, so no count is asked)
    assert all(r["sent"] >= 1 for r in reports), reports
    assert all(r["fallbacks"] == 0 for r in reports)
    assert all(r["seen_open"] for r in reports), reports
