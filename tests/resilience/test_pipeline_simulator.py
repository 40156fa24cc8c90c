"""The pipeline end to end: the real Autotask client against the simulator's fault injection."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from agent.autotask import ApiCredentials
from agent.autotask.client import AutotaskClient
from agent.autotask.entities import Ticket
from agent.autotask.session import ClientOptions
from agent.clock import FakeClock
from agent.resilience.breaker import BreakerRegistry, BreakerSettings, BreakerState
from agent.resilience.classify import Action, Category
from agent.resilience.pipeline import Pipeline, PipelineError
from agent.resilience.quota import QuotaPacer, ThresholdInfo
from agent.resilience.recovery import ZoneRecovery
from agent.resilience.retry import READ_RETRY_ON, RetryPolicy
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator

ORIGIN = "http://sim.test"
RULE = (
    "When assigning a Resource, you must assign both a assignedResourceID and "
    "assignedResourceRoleID."
)


@dataclass
class Rig:
    sim: Simulator
    clock: FakeClock
    client: AutotaskClient
    pipeline: Pipeline

    def usage(self) -> int:
        return self.sim.limits.usage(self.sim.tenant.name)

    def ticket_id(self) -> int:
        tech = self.sim.technician_resource_id
        tickets = self.sim.tenant.records["Tickets"]
        return next(i for i, t in sorted(tickets.items()) if t["assignedResourceID"] == tech)

    async def read_ticket(self, ticket_id: int) -> Ticket:
        async def fn(limits: httpx.Timeout) -> Ticket:
            with self.client.deadline(limits.read):
                return await self.client.get(Ticket, ticket_id)

        return await self.pipeline.call(endpoint="Tickets", kind="read", fn=fn)

    async def write_title(self, ticket_id: int, title: str, op_id: str | None = None) -> int:
        async def fn(limits: httpx.Timeout) -> int:
            with self.client.deadline(limits.read):
                return await self.client.update(Ticket, ticket_id, {"title": title})

        return await self.pipeline.call(endpoint="Tickets", kind="write", fn=fn, op_id=op_id)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = FakeClock()
    sim = Simulator(seed="resilience", tickets=60, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as http:
        client = AutotaskClient(
            http,
            ApiCredentials(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            options=ClientOptions(directory_url=ORIGIN + "/ATServicesRest/"),
        )

        async def threshold() -> ThresholdInfo:
            t = await client.threshold()
            return ThresholdInfo(t.limit, t.timeframe_minutes, t.used)

        pipeline = Pipeline(
            zone=lambda: str(client.zone.name if client.zone else "unknown"),
            clock=clock,
            rng=random.Random(1),
            breakers=BreakerRegistry(BreakerSettings(min_calls=5, probes=1), clock),
            pacer=QuotaPacer(threshold, clock=clock),
            zone_recovery=ZoneRecovery(client.rediscover_zone, clock),
        )
        yield Rig(sim, clock, client, pipeline)


async def test_reads_and_writes_pass_and_the_threshold_reading_is_paced(rig: Rig):
    ticket_id = rig.ticket_id()
    ticket = await rig.read_ticket(ticket_id)
    assert ticket.id == ticket_id
    assert await rig.write_title(ticket_id, "Printer fixed") == ticket_id
    assert rig.sim.tenant.records["Tickets"][ticket_id]["title"] == "Printer fixed"
    assert rig.pipeline.pacer.reads == 1
    assert rig.pipeline.pacer.info.threshold == 10_000


async def test_server_errors_open_the_breaker_and_stop_traffic_to_the_simulator(rig: Rig):
    ticket_id = rig.ticket_id()
    await rig.read_ticket(ticket_id)
    rig.sim.faults.error(503, route="tickets*")
    for _ in range(4):  # with the first success: 4 of 5 calls failed
        with pytest.raises(PipelineError) as raised:
            await rig.read_ticket(ticket_id)
        assert raised.value.category is Category.TRANSIENT_SERVER and raised.value.attempted
    zone = rig.pipeline.current_zone()
    assert rig.pipeline.breakers.get(zone, "Tickets").state is BreakerState.OPEN
    before = rig.usage()
    for _ in range(10):
        with pytest.raises(PipelineError) as raised:
            await rig.read_ticket(ticket_id)
        assert not raised.value.attempted
    assert rig.usage() == before  # not one request reached the server
    rig.sim.faults.clear()
    rig.clock.advance(10.0)
    assert (await rig.read_ticket(ticket_id)).id == ticket_id
    assert rig.pipeline.breakers.get(zone, "Tickets").state is BreakerState.CLOSED


async def test_a_business_rule_500_is_parked_with_its_message_and_not_retried(rig: Rig):
    rig.sim.faults.error(500, route="tickets", verb="PATCH", message=RULE)
    with pytest.raises(PipelineError) as raised:
        await rig.write_title(rig.ticket_id(), "x", op_id="op-1")
    assert raised.value.category is Category.VALIDATION
    assert raised.value.action is Action.PARK_NEEDS_ATTENTION
    assert raised.value.retry_at is None
    assert RULE in str(raised.value)


async def test_a_write_whose_answer_is_dropped_must_be_reconciled(rig: Rig):
    ticket_id = rig.ticket_id()
    rig.sim.faults.drop_response(route="tickets", verb="PATCH", count=1)
    with pytest.raises(PipelineError) as raised:
        await rig.write_title(ticket_id, "Landed anyway", op_id="op-2")
    assert raised.value.action is Action.RECONCILE
    assert raised.value.retry_at is None
    # it did land: a blind retry would have sent it twice
    assert rig.sim.tenant.records["Tickets"][ticket_id]["title"] == "Landed anyway"


async def test_a_moved_tenant_triggers_zone_rediscovery_and_calls_work_again(rig: Rig):
    ticket_id = rig.ticket_id()
    await rig.read_ticket(ticket_id)
    old_zone = rig.pipeline.current_zone()
    rig.sim.faults.migrate_zone(rig.sim.zone + 3)
    with pytest.raises(PipelineError):
        await rig.read_ticket(ticket_id)
    assert rig.pipeline.zone_recovery.rediscoveries == 1
    assert (await rig.read_ticket(ticket_id)).id == ticket_id
    assert rig.pipeline.current_zone() != old_zone


async def test_concurrent_writes_never_trip_autotasks_thread_limit(rig: Rig):
    ticket_id = rig.ticket_id()
    await rig.read_ticket(ticket_id)
    rig.sim.faults.latency(0.5, route="tickets", verb="PATCH")
    results = await asyncio.gather(
        *(rig.write_title(ticket_id, f"edit {i}") for i in range(12)), return_exceptions=True
    )
    assert all(r == ticket_id for r in results), results


async def test_quota_exhaustion_answers_429_and_the_pipeline_backs_off(rig: Rig):
    ticket_id = rig.ticket_id()
    rig.sim.limits.threshold = 3
    outcomes = []
    for _ in range(5):
        try:
            await rig.read_ticket(ticket_id)
            outcomes.append("ok")
        except PipelineError as e:
            outcomes.append(e.category)
    assert Category.THROTTLED_QUOTA in outcomes
    sent_after_429 = rig.usage()
    for _ in range(5):
        with pytest.raises(PipelineError):
            await rig.read_ticket(ticket_id)
    assert rig.usage() == sent_after_429  # held back, not hammering a closed tenant


async def test_a_read_through_the_pipeline_is_retried_past_dropped_connections(rig: Rig):
    ticket_id = rig.ticket_id()
    await rig.read_ticket(ticket_id)
    rig.sim.faults.reset(route="tickets/*", verb="GET", count=2)
    policy = RetryPolicy(on=READ_RETRY_ON, attempts=4, clock=rig.clock, rng=random.Random(2))
    ticket = await policy.run(lambda: rig.read_ticket(ticket_id))
    assert ticket.id == ticket_id
    assert len(rig.clock.sleeps) >= 2  # two backoff waits, on the fake clock
