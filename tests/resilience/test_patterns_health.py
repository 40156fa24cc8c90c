"""Failure patterns, connectivity probing, zone recovery and the rolled-up health report."""

from __future__ import annotations

import asyncio

import pytest

from agent.autotask import errors as at
from agent.clock import FakeClock
from agent.resilience.breaker import BreakerRegistry, BreakerSettings
from agent.resilience.classify import Category
from agent.resilience.connectivity import Connectivity, tcp_probe
from agent.resilience.events import EventHub, HealthChanged
from agent.resilience.health import HealthMonitor, HealthSources, Status
from agent.resilience.patterns import FailurePatterns, FailureRecord, Verdict
from agent.resilience.quota import QuotaPacer, ThresholdInfo
from agent.resilience.recovery import CredentialsState, ZoneRecovery


def rec(op: str | None, message: str = "boom", endpoint: str = "Tickets") -> FailureRecord:
    return FailureRecord(0.0, endpoint, Category.TRANSIENT_SERVER, op, message)


def test_an_op_failing_the_same_way_again_and_again_is_found_repeating():
    patterns = FailurePatterns(repeat_limit=3)
    assert patterns.record_failure(rec("op-1")) is None
    assert patterns.record_failure(rec("op-1")) is None
    finding = patterns.record_failure(rec("op-1"))
    assert finding is not None and finding.verdict is Verdict.REPEATING
    assert finding.subject == "op-1"
    assert "3 times" in finding.reason


def test_different_failures_or_a_success_in_between_are_not_repeating():
    patterns = FailurePatterns(repeat_limit=3)
    patterns.record_failure(rec("op-1", "a"))
    patterns.record_failure(rec("op-1", "b"))
    assert patterns.record_failure(rec("op-1", "a")) is None
    patterns.record_success("Tickets", "op-1")
    patterns.record_failure(rec("op-1", "a"))
    assert patterns.record_failure(rec("op-1", "a")) is None


def test_history_per_endpoint_is_bounded():
    patterns = FailurePatterns(history=5)
    for _ in range(20):
        patterns.record_failure(rec(None))
    assert len(patterns.by_endpoint["Tickets"]) == 5
    assert len(patterns.by_category[Category.TRANSIENT_SERVER]) == 5


def test_an_endpoint_that_alternates_success_and_failure_is_flapping():
    patterns = FailurePatterns(flap_window=20, flap_transitions=8)
    for _ in range(6):
        patterns.record_failure(rec(None))
        patterns.record_success("Tickets")
    finding = patterns.flapping("Tickets")
    assert finding is not None and finding.verdict is Verdict.LOWER_CONCURRENCY
    steady = FailurePatterns(flap_window=20, flap_transitions=8)
    for _ in range(6):
        steady.record_failure(rec(None))
    for _ in range(6):
        steady.record_success("Tickets")
    assert steady.flapping("Tickets") is None


async def test_connectivity_goes_offline_after_network_failures_and_probes_back():
    clock = FakeClock()
    reachable = False
    calls = 0

    async def probe() -> bool:
        nonlocal calls
        calls += 1
        return reachable

    conn = Connectivity(probe, clock, failures_to_offline=2, first_interval=0.1, max_interval=0.5)
    changes: list[bool] = []
    conn.subscribe(changes.append)
    runner = asyncio.create_task(conn.run())
    conn.report_network_failure()
    assert conn.online
    conn.report_network_failure()
    assert not conn.online
    for _ in range(30):
        await asyncio.sleep(0)
    assert calls >= 3
    # backoff grows but never past the cap, so a returning network is seen within a second
    assert max(clock.sleeps) <= 0.5 and clock.sleeps[0] == 0.1
    assert clock.sleeps[:3] == [0.1, 0.2, 0.4]
    reachable = True
    await asyncio.wait_for(conn.wait_online(), 1.0)
    assert changes == [False, True]
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)


async def test_network_changed_hint_triggers_an_immediate_probe():
    clock = FakeClock()
    calls = 0
    never = asyncio.Event()

    async def probe() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 2

    class SlowClock(FakeClock):
        async def sleep(self, seconds: float) -> None:
            await never.wait()  # the backoff pause would last forever

    conn = Connectivity(probe, SlowClock(), failures_to_offline=1)
    runner = asyncio.create_task(conn.run())
    conn.report_network_failure()
    for _ in range(5):
        await asyncio.sleep(0)
    assert calls == 1 and not conn.online
    conn.network_changed()
    await asyncio.wait_for(conn.wait_online(), 1.0)
    assert calls == 2
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    del clock


async def test_tcp_probe_tells_an_open_port_from_a_closed_one():
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    assert await tcp_probe("127.0.0.1", port)
    server.close()
    await server.wait_closed()
    assert not await tcp_probe("127.0.0.1", port)


async def test_zone_is_rediscovered_when_the_tenant_moved():
    clock = FakeClock()
    lookups = 0

    async def rediscover() -> str:
        nonlocal lookups
        lookups += 1
        return "webservices5"

    zone = ZoneRecovery(rediscover, clock, min_interval=30.0)
    assert zone.note_failure(at.ZoneMovedError("moved"))
    assert await zone.rediscover_if_due()
    assert lookups == 1 and not zone.pending


async def test_zone_is_rediscovered_after_repeated_connect_failures_but_not_storming():
    clock = FakeClock()
    lookups = 0

    async def rediscover() -> None:
        nonlocal lookups
        lookups += 1
        raise at.NetworkError("no route")

    zone = ZoneRecovery(rediscover, clock, connect_failures=3, min_interval=10.0)
    refused = at.NetworkError("refused")
    assert not zone.note_failure(refused)
    assert not zone.note_failure(refused)
    assert not zone.note_failure(refused, network_up=False)  # whole network down: not the zone
    assert zone.note_failure(refused)
    assert not await zone.rediscover_if_due()
    assert zone.last_error
    assert not await zone.rediscover_if_due()  # too soon after the last lookup
    clock.advance(25.0)  # interval doubled to 20 s after the failed lookup
    await zone.rediscover_if_due()
    assert lookups == 2


def test_health_is_the_worst_check_with_a_readable_reason(fake_clock):
    hub = EventHub()
    seen: list[HealthChanged] = []
    hub.subscribe(seen.append)
    credentials = CredentialsState()
    free = [10 * 1024**3]
    breakers = BreakerRegistry(BreakerSettings(min_calls=1), fake_clock)
    pacer = QuotaPacer(None, clock=fake_clock)
    monitor = HealthMonitor(
        HealthSources(
            store_integrity=lambda: True,
            free_disk_bytes=lambda: free[0],
            credentials=credentials,
            breakers=breakers,
            pacer=pacer,
            patterns=FailurePatterns(),
        ),
        hub,
    )
    report = monitor.check()
    assert report.status is Status.OK and report.reason == "everything is working"
    free[0] = 10 * 1024**2
    pacer.info = ThresholdInfo(10_000, 60.0, 8_000)
    b = breakers.get("zone1", "Tickets")
    b.failure(b.acquire())
    report = monitor.check()
    assert report.status is Status.DEGRADED
    assert "10 MiB" in report.reason and "80%" in report.reason and "Tickets open" in report.reason
    credentials.refuse("Autotask refused the sign-in details.")
    report = monitor.check()
    assert report.status is Status.FAILING
    assert "sign-in" in report.reason
    assert [(e.old, e.new) for e in seen] == [("ok", "degraded"), ("degraded", "failing")]


def test_a_failed_store_integrity_check_fails_health():
    monitor = HealthMonitor(HealthSources(store_integrity=lambda: False))
    report = monitor.check()
    assert report.status is Status.FAILING
    assert "database" in report.reason


def test_pattern_findings_appear_in_the_health_report():
    patterns = FailurePatterns(repeat_limit=2)
    patterns.record_failure(rec("op-9"))
    patterns.record_failure(rec("op-9"))
    report = HealthMonitor(HealthSources(patterns=patterns)).check()
    assert report.status is Status.DEGRADED
    assert [f.subject for f in report.findings] == ["op-9"]


@pytest.mark.parametrize("phase", ["read", "write"])
def test_only_connect_failures_count_towards_zone_rediscovery(phase):
    zone = ZoneRecovery(None, FakeClock(), connect_failures=1)
    assert not zone.note_failure(at.RequestTimeoutError("slow", phase=phase))
    assert zone.note_failure(at.RequestTimeoutError("slow", phase="connect"))
