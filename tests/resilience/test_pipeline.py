"""The composed pipeline: admission order, outcome recording, errors it raises and events."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import httpx
import pytest

from agent.autotask import errors as at
from agent.clock import FakeClock
from agent.resilience.breaker import BreakerRegistry, BreakerSettings, BreakerState
from agent.resilience.bulkhead import Kind
from agent.resilience.classify import Action, Category
from agent.resilience.connectivity import Connectivity
from agent.resilience.events import BreakerChanged, HealthChanged, ModeChanged
from agent.resilience.modes import Mode
from agent.resilience.patterns import FailurePatterns
from agent.resilience.pipeline import Pipeline, PipelineError
from agent.resilience.quota import QuotaPacer, QuotaSettings, ThresholdInfo
from agent.resilience.recovery import ZoneRecovery


def make(clock: FakeClock, **parts) -> Pipeline:
    breakers = parts.pop("breakers", BreakerRegistry(BreakerSettings(min_calls=4, probes=1), clock))
    return Pipeline(zone="zone1", clock=clock, rng=random.Random(4), breakers=breakers, **parts)


def answer(value: object = "ok"):
    seen: list[httpx.Timeout] = []

    async def fn(limits: httpx.Timeout) -> object:
        seen.append(limits)
        return value

    fn.seen = seen  # type: ignore[attr-defined]
    return fn


def failing(error: Exception):
    calls = []

    async def fn(limits: httpx.Timeout) -> object:
        calls.append(limits)
        raise error

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


async def test_a_successful_call_returns_its_result_and_gets_an_httpx_timeout(fake_clock):
    pipeline = make(fake_clock)
    fn = answer({"id": 1})
    assert await pipeline.call(endpoint="Tickets", kind="read", fn=fn) == {"id": 1}
    assert isinstance(fn.seen[0], httpx.Timeout)
    assert fn.seen[0].connect == pipeline.timeouts.settings.connect


async def test_a_validation_failure_is_parked_with_the_servers_message(fake_clock):
    pipeline = make(fake_clock)
    error = at.ValidationError("refused", status=500, messages=["Title is required."])
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="write", fn=failing(error), op_id="op-1")
    e = raised.value
    assert e.category is Category.VALIDATION and e.action is Action.PARK_NEEDS_ATTENTION
    assert e.retry_at is None and e.error is error and e.attempted
    assert "Title is required." in str(e)
    assert pipeline.breakers.get("zone1", "Tickets").state is BreakerState.CLOSED


async def test_a_transient_failure_carries_a_retry_time_from_the_backoff(fake_clock):
    pipeline = make(fake_clock)
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(
            endpoint="Tickets", kind="write", fn=failing(at.ServerError("x", status=503))
        )
    e = raised.value
    assert e.action is Action.RETRY_WITH_BACKOFF
    assert e.retry_at is not None
    assert fake_clock.now() <= e.retry_at <= fake_clock.now() + timedelta(seconds=1)


async def test_a_lost_write_response_asks_for_reconciliation_and_no_retry_time(fake_clock):
    pipeline = make(fake_clock)
    lost = at.NetworkError("dropped", is_write=True, may_have_reached_server=True)
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="write", fn=failing(lost))
    assert raised.value.action is Action.RECONCILE
    assert raised.value.retry_at is None


async def test_an_open_breaker_refuses_calls_without_running_them(fake_clock):
    pipeline = make(fake_clock)
    events: list[object] = []
    pipeline.subscribe(events.append)
    for _ in range(4):
        with pytest.raises(PipelineError):
            await pipeline.call(
                endpoint="Tickets", kind="read", fn=failing(at.ServerError("x", status=503))
            )
    assert pipeline.breakers.get("zone1", "Tickets").state is BreakerState.OPEN
    fn = answer()
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="write", fn=fn)
    assert not raised.value.attempted and fn.seen == []
    assert raised.value.retry_at is not None
    assert any(isinstance(e, BreakerChanged) and e.new == "open" for e in events)
    assert any(isinstance(e, ModeChanged) and e.new == "conserve" for e in events)
    assert any(isinstance(e, HealthChanged) and e.new == "degraded" for e in events)
    # other endpoints still work
    assert await pipeline.call(endpoint="TimeEntries", kind="write", fn=answer()) == "ok"


async def test_breaker_recovers_after_its_break_with_a_successful_probe(fake_clock):
    pipeline = make(fake_clock)
    for _ in range(4):
        with pytest.raises(PipelineError):
            await pipeline.call(endpoint="Tickets", kind="write", fn=failing(at.NetworkError("x")))
    fake_clock.advance(10.0)
    assert await pipeline.call(endpoint="Tickets", kind="write", fn=answer()) == "ok"
    assert pipeline.breakers.get("zone1", "Tickets").state is BreakerState.CLOSED


async def test_refused_credentials_pause_every_call_until_updated(fake_clock):
    pipeline = make(fake_clock)
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="read", fn=failing(at.WrongSecretError("no")))
    assert raised.value.action is Action.PAUSE_FOR_CREDENTIALS
    fn = answer()
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="write", fn=fn)
    assert raised.value.action is Action.PAUSE_FOR_CREDENTIALS and fn.seen == []
    assert pipeline.health().status.name == "FAILING"
    pipeline.credentials.updated()
    assert await pipeline.call(endpoint="Tickets", kind="write", fn=fn) == "ok"


async def test_a_429_blocks_the_pacer_and_the_next_call_is_told_when_to_come_back(fake_clock):
    pipeline = make(fake_clock)
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(
            endpoint="Tickets", kind="write", fn=failing(at.RateLimitedError("q", retry_after=120))
        )
    assert raised.value.action is Action.SLOW_DOWN
    assert raised.value.retry_at == fake_clock.now() + timedelta(seconds=120)
    fn = answer()
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="write", fn=fn)
    assert raised.value.category is Category.THROTTLED_QUOTA and not raised.value.attempted
    assert fn.seen == []
    assert pipeline.mode is Mode.CRITICAL  # throttled: only technician writes, capped


async def test_an_op_failing_the_same_way_repeatedly_is_reported_but_never_parked(fake_clock):
    pipeline = make(fake_clock, patterns=FailurePatterns(repeat_limit=3))
    breakers = pipeline.breakers
    actions = []
    for _ in range(3):
        breakers.get("zone1", "Tickets").reset()
        with pytest.raises(PipelineError) as raised:
            await pipeline.call(
                endpoint="Tickets",
                kind="write",
                op_id="op-7",
                fn=failing(at.ServerError("same", status=502)),
            )
        actions.append(raised.value.action)
    # A transient failure is retried however often it repeats; the repetition is reported.
    assert actions == [Action.RETRY_WITH_BACKOFF] * 3
    assert any(f.subject == "op-7" for f in pipeline.health().findings)


async def test_a_flapping_endpoint_runs_with_lower_concurrency(fake_clock):
    breakers = BreakerRegistry(BreakerSettings(min_calls=1000), fake_clock)
    pipeline = make(fake_clock, breakers=breakers, patterns=FailurePatterns(flap_transitions=6))
    for _ in range(4):
        await pipeline.call(endpoint="Tickets", kind="read", fn=answer())
        with pytest.raises(PipelineError):
            await pipeline.call(
                endpoint="Tickets", kind="read", fn=failing(at.ServerError("x", status=503))
            )
    assert pipeline.limiter.limit("Tickets") == 1
    assert "Tickets" in pipeline.health().reason


async def test_zone_rediscovery_hook_runs_when_the_tenant_moved(fake_clock):
    moved = []

    async def rediscover() -> None:
        moved.append(True)

    pipeline = make(fake_clock, zone_recovery=ZoneRecovery(rediscover, fake_clock))
    with pytest.raises(PipelineError):
        await pipeline.call(endpoint="Tickets", kind="read", fn=failing(at.ZoneMovedError("gone")))
    assert moved == [True]


async def test_offline_mode_queues_writes_and_drops_background_reads(fake_clock):
    async def probe() -> bool:
        return False

    conn = Connectivity(probe, fake_clock, failures_to_offline=1)
    pipeline = make(fake_clock, connectivity=conn)
    with pytest.raises(PipelineError):
        await pipeline.call(endpoint="Tickets", kind="read", fn=failing(at.NetworkError("down")))
    assert pipeline.mode is Mode.OFFLINE
    write, read = answer(), answer()
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="write", fn=write)
    assert raised.value.action is Action.RETRY_WITH_BACKOFF and raised.value.retry_at
    assert not raised.value.attempted and write.seen == []
    with pytest.raises(PipelineError):
        await pipeline.call(endpoint="Tickets", kind="read", fn=read)
    assert read.seen == []


async def test_background_refresh_past_half_quota_is_postponed_but_edits_go_through(fake_clock):
    async def threshold() -> ThresholdInfo:
        return ThresholdInfo(10_000, 60.0, 5_600)

    pipeline = make(fake_clock, pacer=QuotaPacer(threshold, clock=fake_clock))
    assert await pipeline.call(endpoint="Tickets", kind="write", fn=answer()) == "ok"
    assert pipeline.mode is Mode.CONSERVE
    refresh = answer()
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="read", fn=refresh)
    assert raised.value.category is Category.THROTTLED_QUOTA and refresh.seen == []
    assert await pipeline.call(endpoint="Tickets", kind="write", fn=answer()) == "ok"


async def test_calls_waiting_for_a_reading_that_fails_say_so_not_that_the_hour_is_used(
    fake_clock,
):
    async def threshold() -> ThresholdInfo:
        raise ValueError("threshold information is impossible: timeframe 0 minutes")

    settings = QuotaSettings(max_wait=0.0)
    pipeline = make(fake_clock, pacer=QuotaPacer(threshold, settings, clock=fake_clock))
    sent, refused = 0, None
    for _ in range(100):
        try:
            await pipeline.call(endpoint="Tickets", kind="write", fn=answer())
        except PipelineError as error:
            refused = error
            break
        sent += 1
    assert sent <= settings.blind_calls and refused is not None
    assert refused.category is Category.THROTTLED_QUOTA and not refused.attempted
    message = str(refused)
    assert "does not say how much" in message and "has used most" not in message


async def test_a_refresh_storm_cannot_starve_a_technicians_edit(fake_clock):
    pipeline = make(fake_clock)
    release = asyncio.Event()
    in_flight = []

    async def slow_read(limits: httpx.Timeout) -> str:
        in_flight.append(1)
        await release.wait()
        return "read"

    reads = [
        asyncio.create_task(pipeline.call(endpoint="Tickets", kind="read", fn=slow_read))
        for _ in range(20)
    ]
    for _ in range(10):
        await asyncio.sleep(0)
    assert len(in_flight) == 2  # one of the three endpoint slots stays free for edits
    edit = await asyncio.wait_for(
        pipeline.call(endpoint="Tickets", kind=Kind.WRITE, fn=answer("saved")), 1.0
    )
    assert edit == "saved"
    release.set()
    assert set(await asyncio.gather(*reads)) == {"read"}


async def test_cancelling_a_call_releases_its_slots_and_probe(fake_clock):
    pipeline = make(fake_clock)
    started = asyncio.Event()

    async def hang(limits: httpx.Timeout) -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(pipeline.call(endpoint="Tickets", kind="write", fn=hang))
    await started.wait()
    assert pipeline.limiter.in_flight("Tickets") == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert pipeline.limiter.in_flight("Tickets") == 0


async def test_latency_feeds_the_endpoints_adaptive_timeout(fake_clock):
    pipeline = make(fake_clock)

    async def slow(limits: httpx.Timeout) -> str:
        await fake_clock.sleep(3.0)
        return "ok"

    for _ in range(25):
        await pipeline.call(endpoint="Tickets/query", kind="read", fn=slow)
    seen = answer()
    await pipeline.call(endpoint="Tickets/query", kind="read", fn=seen)
    assert seen.seen[0].read == pytest.approx(12.0)


async def test_connection_failures_trip_the_zone_circuit_and_its_return_ends_the_break(fake_clock):
    reachable = False

    async def probe() -> bool:
        return reachable

    conn = Connectivity(probe, fake_clock, failures_to_offline=4)
    pipeline = make(fake_clock, connectivity=conn)
    for _ in range(4):
        with pytest.raises(PipelineError):
            await pipeline.call(endpoint="Tickets", kind="write", fn=failing(at.NetworkError("x")))
    assert pipeline.breakers.get("zone1").state is BreakerState.OPEN
    assert pipeline.breakers.get("zone1", "Tickets").state is BreakerState.CLOSED
    assert pipeline.mode is Mode.OFFLINE
    reachable = True
    assert await conn.probe_now()  # the network is back: no waiting out the break
    assert pipeline.breakers.get("zone1").state is BreakerState.HALF_OPEN
    assert await pipeline.call(endpoint="Tickets", kind="write", fn=answer()) == "ok"


async def test_an_open_zone_circuit_hands_the_link_to_the_prober(fake_clock):
    async def probe() -> bool:
        return False

    conn = Connectivity(probe, fake_clock, failures_to_offline=100)
    pipeline = make(fake_clock, connectivity=conn)
    for _ in range(4):
        with pytest.raises(PipelineError):
            await pipeline.call(endpoint="Tickets", kind="write", fn=failing(at.NetworkError("x")))
    # refused calls would never test the link again, so the agent goes offline and probes
    assert not conn.online
    assert pipeline.mode is Mode.OFFLINE


async def test_a_call_queued_behind_its_endpoint_leaves_the_write_pool_to_other_endpoints(
    fake_clock,
):
    pipeline = make(fake_clock)
    release = asyncio.Event()

    async def held(limits: httpx.Timeout) -> str:
        await release.wait()
        return "ticket"

    # More writes to one endpoint than Autotask's three plus the pool's spare slots.
    tickets = [
        asyncio.create_task(pipeline.call(endpoint="Tickets", kind="write", fn=held))
        for _ in range(pipeline.bulkheads.sizes[Kind.WRITE])
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    assert pipeline.limiter.in_flight("Tickets") == 3
    # A write to another endpoint goes now, while the queued ticket writes wait their turn.
    entry = await asyncio.wait_for(
        pipeline.call(endpoint="TimeEntries", kind="write", fn=answer("entry")), timeout=1.0
    )
    assert entry == "entry"
    release.set()
    assert await asyncio.gather(*tickets) == ["ticket"] * len(tickets)


async def test_the_attachment_byte_quota_holds_attachment_uploads_only(fake_clock):
    """A 429 for attachment bytes is not the tenant's hourly quota: the pacer keeps its pace,
    other calls go on at once, and only attachment uploads wait out its Retry-After."""
    pipeline = make(fake_clock)
    refused = at.AttachmentQuotaError("bytes", retry_after=300, status=429)
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(
            endpoint="Tickets/{parentId}/Attachments", kind="write", fn=failing(refused)
        )
    e = raised.value
    assert e.category is Category.THROTTLED_ATTACHMENTS and e.action is Action.SLOW_DOWN
    assert e.retry_at == fake_clock.now() + timedelta(seconds=300)
    assert pipeline.pacer.multiplier == 1.0 and pipeline.mode is Mode.NORMAL
    edit, read = answer("edit"), answer("read")
    assert await pipeline.call(endpoint="Tickets", kind="write", fn=edit) == "edit"
    assert await pipeline.call(endpoint="Tickets/{parentId}/Attachments", kind="read", fn=read)
    upload = answer("uploaded")
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Projects/{parentId}/Attachments", kind="write", fn=upload)
    assert raised.value.category is Category.THROTTLED_ATTACHMENTS
    assert not raised.value.attempted and upload.seen == []
    fake_clock.advance(301)
    assert await pipeline.call(endpoint="Tickets/{parentId}/Attachments", kind="write", fn=upload)
    assert pipeline.breakers.get("zone1", "Tickets/{parentId}/Attachments").state is (
        BreakerState.CLOSED
    )


async def test_calls_held_back_after_certificate_failures_say_certificate_not_outage(fake_clock):
    async def probe() -> bool:
        return False

    conn = Connectivity(probe, fake_clock, failures_to_offline=2)
    pipeline = make(fake_clock, connectivity=conn)
    untrusted = at.UntrustedCertificateError(
        "The server's certificate is not trusted: the server at zone1 ...", phase="connect"
    )
    for _ in range(4):  # offline, then the zone circuit opens
        with pytest.raises(PipelineError) as raised:
            await pipeline.call(endpoint="Tickets", kind="write", fn=failing(untrusted))
        assert raised.value.category is Category.CERTIFICATE
    assert pipeline.mode is Mode.OFFLINE
    held = answer()
    with pytest.raises(PipelineError) as raised:
        await pipeline.call(endpoint="Tickets", kind="write", fn=held)
    assert held.seen == [] and not raised.value.attempted
    assert raised.value.category is Category.CERTIFICATE
    assert "certificate is not trusted" in str(raised.value)
    assert raised.value.action is Action.RETRY_WITH_BACKOFF
