"""One bad field must not hold back good ones: what the server refuses is parked with its reason,
everything else of the same operation reaches the server (counted on the simulator)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.api.facade import Agent
from agent.api.types import QueueItem
from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.store.models import OpState
from tests.e2e.conftest import World, options


class Recorder:
    """The simulator's app, noting the method and path of every request it serves; with
    `refusal_status`, its refusals (a 500 explaining the rule) answer with that status instead."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []
        self.refusal_status = 500
        self.unavailable: set[int] = set()  # the n-th PATCH (from 1) answers 503, not applied
        self.refuse: dict[int, str] = {}  # the n-th PATCH is refused with this message

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests.append((scope["method"], scope["path"]))
        if scope["method"] == "PATCH":
            number = sum(1 for method, _ in self.requests if method == "PATCH")
            if number in self.unavailable or number in self.refuse:
                status = 500 if number in self.refuse else 503
                body = json.dumps({"errors": [self.refuse.get(number, "")]}).encode()
                headers = [(b"content-type", b"application/json")]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return

        async def answer(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 500:
                message = {**message, "status": self.refusal_status}
            await send(message)

        await self.app(scope, receive, answer)


SEEN: dict[int, Recorder] = {}


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock()
    sim = Simulator(seed="partial", tickets=60, clock=clock)
    sim.limits.latency_enabled = False
    recorder = SEEN[id(sim)] = Recorder(sim.app)
    opts = dataclasses.replace(
        options(sim, clock, tmp_path), transport=httpx.ASGITransport(app=recorder)
    )
    agent = await Agent.open(opts)
    try:
        yield World(sim, agent, clock, tmp_path)
    finally:
        await agent.close()
        SEEN.pop(id(sim))


async def synced_ticket(world: World) -> int:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report
    return sorted(t.id for t in await world.agent.my_tickets())[0]


def on_server(world: World, ticket_id: int) -> dict[str, Any]:
    return world.sim.dump()["Tickets"][ticket_id]


async def queue(world: World, state: str | None = None) -> list[QueueItem]:
    page = await world.agent.queue_page(states=None if state is None else [state])
    return page.items


def patches(world: World) -> int:
    """PATCH requests the simulator answered on Tickets (its own request log)."""
    seen = SEEN[id(world.sim)].requests
    return sum(1 for method, path in seen if method == "PATCH" and "tickets" in path.lower())


def other_resource(world: World) -> tuple[int, int]:
    """An active resource other than the technician, with one of its roles."""
    tenant = world.sim.tenant
    for rid in sorted(tenant.records["Resources"]):
        if rid != world.sim.technician_resource_id and tenant.roles_of(rid):
            return rid, sorted(tenant.roles_of(rid))[0]
    raise AssertionError("the seed has a second resource with a role")


@pytest.mark.parametrize("status", [500, 400])
async def test_a_field_the_server_names_is_parked_and_the_rest_reaches_the_server(
    world: World, status: int
) -> None:
    SEEN[id(world.sim)].refusal_status = status
    tid = await synced_ticket(world)
    statuses = sorted((await world.agent.picklists("Tickets"))["status"])
    before = on_server(world, tid)
    refused = next(s for s in statuses if s != before["status"] and s != 5)
    await world.agent.update_ticket(tid, title="Good title")
    await world.agent.update_ticket(tid, status=refused)  # coalesced into the title change
    assert len(await queue(world, "pending")) == 1
    # The tenant retires that status after the agent downloaded its picklists.
    for value in world.sim.tenant.picklist("Tickets", "status"):
        if value.value == refused:
            value.is_active = False

    report = await world.agent.sync_now()
    assert report is not None

    server = on_server(world, tid)
    assert server["title"] == "Good title"
    assert server["status"] == before["status"]
    [parked] = await queue(world, "parked")
    message = f"The value {refused} is not a valid status picklist value."
    number = on_server(world, tid)["ticketNumber"]
    assert parked.description.startswith(f"Change ticket {number}: Status → ")
    assert parked.last_error is not None and message in parked.last_error
    assert not parked.outcome_unknown
    detail = await world.agent.ticket(tid)
    assert detail is not None
    assert not detail.fields["title"].pending and detail.fields["status"].pending
    assert await queue(world, "pending") == []


async def test_a_refusal_that_names_no_field_is_found_by_bisection(world: World) -> None:
    tid = await synced_ticket(world)
    resource, role = other_resource(world)
    prios = sorted((await world.agent.picklists("Tickets"))["priority"])
    before = on_server(world, tid)
    priority = next(p for p in prios if p != before["priority"])
    await world.agent.update_ticket(tid, title="Bisected title", description="Checked on site")
    await world.agent.update_ticket(
        tid, priority=priority, assignedResourceID=resource, assignedResourceRoleID=role
    )
    # The resource leaves the company after the agent's last download.
    world.sim.tenant.records["Resources"][resource]["isActive"] = False
    calls_before = patches(world)

    await world.agent.sync_now()

    server = on_server(world, tid)
    assert (server["title"], server["description"], server["priority"]) == (
        "Bisected title",
        "Checked on site",
        priority,
    )
    assert server["assignedResourceID"] == before["assignedResourceID"]
    [parked] = await queue(world, "parked")
    assert parked.last_error is not None
    assert f"The resource {resource} does not exist or is inactive." in parked.last_error
    assert "Assigned to" in parked.description
    assert "Title" not in parked.description and "Priority" not in parked.description
    # The whole update, then halves: a handful of calls, not one per field and retry.
    assert patches(world) - calls_before <= 5
    op = world.agent.store.read(lambda: world.agent.outbox.get(parked.id))
    assert op is not None and op.state is OpState.PARKED
    assert set(op.fields) == {"assignedResourceID", "assignedResourceRoleID"}
    assert set(op.base) == set(op.fields)


async def test_a_whole_refusal_of_one_field_parks_it_with_the_servers_reason(
    world: World,
) -> None:
    tid = await synced_ticket(world)
    resource, role = other_resource(world)
    await world.agent.update_ticket(tid, assignedResourceID=resource, assignedResourceRoleID=role)
    world.sim.tenant.records["Resources"][resource]["isActive"] = False
    await world.agent.sync_now()
    [parked] = await queue(world, "parked")
    assert parked.last_error == (
        f"Autotask refused the change: The resource {resource} does not exist or is inactive."
    )
    assert not parked.outcome_unknown  # the server answered: nothing left to check
    listed = await world.agent.queue_page()
    assert [i.state for i in listed.items] == ["parked"]


async def test_a_refused_field_next_to_a_conflict_keeps_both_and_sends_the_rest(
    world: World,
) -> None:
    tid = await synced_ticket(world)
    resource, role = other_resource(world)
    prios = sorted((await world.agent.picklists("Tickets"))["priority"])
    base = on_server(world, tid)["priority"]
    mine, theirs = [p for p in prios if p != base][:2]
    await world.agent.update_ticket(tid, title="Sent despite the rest", priority=mine)
    await world.agent.update_ticket(tid, assignedResourceID=resource, assignedResourceRoleID=role)
    world.sim.edit_ticket(tid, priority=theirs)
    world.sim.tenant.records["Resources"][resource]["isActive"] = False

    await world.agent.sync_now()

    assert on_server(world, tid)["title"] == "Sent despite the rest"
    assert on_server(world, tid)["priority"] == theirs
    [waiting] = await queue(world, "conflict")
    op = world.agent.store.read(lambda: world.agent.outbox.get(waiting.id))
    assert op is not None
    assert set(op.fields) == {"priority", "assignedResourceID", "assignedResourceRoleID"}
    assert "does not exist or is inactive" in str(op.reason)
    assert [c.field for c in await world.agent.conflicts()] == ["priority"]


async def test_an_outage_while_splitting_keeps_what_went_and_retries_the_rest(
    world: World,
) -> None:
    tid = await synced_ticket(world)
    resource, role = other_resource(world)
    prios = sorted((await world.agent.picklists("Tickets"))["priority"])
    priority = next(p for p in prios if p != on_server(world, tid)["priority"])
    await world.agent.update_ticket(tid, title="Went first", description="Went after the outage")
    await world.agent.update_ticket(
        tid, priority=priority, assignedResourceID=resource, assignedResourceRoleID=role
    )
    world.sim.tenant.records["Resources"][resource]["isActive"] = False
    # Fields go in name order. PATCH 1: everything, refused; 2: the assignee and description,
    # refused; 3: priority and title, accepted; 4: the assignee alone, answered 503.
    SEEN[id(world.sim)].unavailable = {patches(world) + 4}

    await world.agent.sync_now()

    server = on_server(world, tid)
    assert (server["title"], server["priority"]) == ("Went first", priority)
    assert server["description"] != "Went after the outage"
    [waiting] = await queue(world, "pending")
    op = world.agent.store.read(lambda: world.agent.outbox.get(waiting.id))
    assert op is not None
    assert set(op.fields) == {"description", "assignedResourceID", "assignedResourceRoleID"}

    world.clock.advance(3600)
    await world.agent.sync_now()

    assert on_server(world, tid)["description"] == "Went after the outage"
    [parked] = await queue(world, "parked")
    assert "does not exist or is inactive" in str(parked.last_error)
    assert await queue(world, "pending") == []


async def test_a_whole_refused_once_but_accepted_in_parts_is_done(world: World) -> None:
    tid = await synced_ticket(world)
    await world.agent.update_ticket(tid, title="In parts", description="Both went")
    SEEN[id(world.sim)].refuse = {patches(world) + 1: "The ticket is being edited elsewhere."}

    report = await world.agent.sync_now()

    assert report is not None and report.push.succeeded == 1
    server = on_server(world, tid)
    assert (server["title"], server["description"]) == ("In parts", "Both went")
    assert [i.state for i in await queue(world)] == ["done"]
    detail = await world.agent.ticket(tid)
    assert detail is not None and not detail.fields["title"].pending
