"""A simulated dispatcher who edits tickets on a schedule, so the technician meets conflicts."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agent.simulator import writes
from agent.simulator.impersonation import is_api_only
from agent.simulator.tenant import Actor
from agent.simulator.values import format_time, parse_time

if TYPE_CHECKING:
    from agent.simulator.simulator import Simulator

LINES_CHECKLIST = (
    "Photograph the installed part",
    "Ask for the customer's signature",
    "Leave the old part at reception",
)
DEFAULT_INTERVAL = 20.0  # simulated seconds between rounds of edits
LINES = (
    "Customer called again: please prioritise.",
    "Parts arrived at the office.",
    "Site contact changed; ask for reception.",
    "Customer asks for a visit before noon.",
    "Escalated by the account manager.",
)


class Dispatcher:
    """Edits status, priority, description or assignee of open tickets, and now and then moves
    a service call or adds to a checklist, deterministically."""

    def __init__(self, sim: Simulator, interval: float = DEFAULT_INTERVAL) -> None:
        self.sim = sim
        self.interval = interval
        self.rng = random.Random(f"{sim.seed}:dispatcher")
        self.history: list[dict[str, Any]] = []
        # Visit edits draw from a generator of their own: the ticket edits of a seed stay put.
        self.visit_rng = random.Random(f"{sim.seed}:dispatcher-visits")
        self.visit_history: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def step(self) -> list[dict[str, Any]]:
        """One round: edit one to three open tickets (half of them the technician's own)."""
        tenant = self.sim.tenant
        technician = self.sim.technician_resource_id
        tickets = tenant.records["Tickets"]
        open_ids = [i for i, t in tickets.items() if t["status"] != 5]
        own = [i for i in open_ids if tickets[i]["assignedResourceID"] == technician]
        edits = []
        for _ in range(1 + self.rng.randrange(3)):
            pool = own if own and self.rng.random() < 0.5 else open_ids
            if not pool:
                break
            ticket_id = pool[self.rng.randrange(len(pool))]
            changes = self._change(ticket_id)
            self.sim.edit_ticket(ticket_id, **changes)
            edits.append({"ticketId": ticket_id, **changes})
        self.history.extend(edits)
        if self.visit_rng.random() < 0.5:
            self.visit_history.append(self.edit_visit())
        await asyncio.sleep(0)
        return edits

    def edit_visit(self) -> dict[str, Any]:
        """Move one of the technician's service calls, or add an item to a ticket's checklist."""
        tenant, rng = self.sim.tenant, self.visit_rng
        actor = Actor(self.sim.dispatcher_resource_id)
        calls = sorted(tenant.records["ServiceCalls"])
        if calls and rng.random() < 0.5:
            call = tenant.records["ServiceCalls"][calls[rng.randrange(len(calls))]]
            shift = timedelta(minutes=rng.choice((-60, -30, 30, 60)))
            start = format_time(parse_time(call["startDateTime"]) + shift)
            end = format_time(parse_time(call["endDateTime"]) + shift)
            change = {"id": call["id"], "startDateTime": start, "endDateTime": end}
            writes.write(tenant, "ServiceCalls", "PATCH", change, actor)
            return {"entity": "ServiceCalls", **change}
        tickets = sorted({i["ticketID"] for i in tenant.records["TicketChecklistItems"].values()})
        ticket_id = tickets[rng.randrange(len(tickets))]
        item = {"ticketID": ticket_id, "itemName": LINES_CHECKLIST[rng.randrange(3)]}
        item_id = writes.write(
            tenant, "TicketChecklistItems", "POST", {**item, "position": 99}, actor, None
        )
        return {"entity": "TicketChecklistItems", "id": item_id, **item}

    def _change(self, ticket_id: int) -> dict[str, Any]:
        tenant, rng = self.sim.tenant, self.rng
        ticket = tenant.records["Tickets"][ticket_id]
        kind = rng.choice(("status", "priority", "description", "assignee"))
        if kind == "status":
            values = sorted(tenant.picklist_values("Tickets", "status") - {5, ticket["status"]})
            return {"status": values[rng.randrange(len(values))]}
        if kind == "priority":
            values = sorted(tenant.picklist_values("Tickets", "priority") - {ticket["priority"]})
            return {"priority": values[rng.randrange(len(values))]}
        if kind == "description":
            line = LINES[rng.randrange(len(LINES))]
            return {"description": f"{ticket['description'] or ''}\n{line}".strip()}
        resources = sorted(
            r
            for r, res in tenant.records["Resources"].items()
            if res["isActive"] and not is_api_only(res)
        )
        resource = resources[rng.randrange(len(resources))]
        roles = sorted(tenant.roles_of(resource))
        return {"assignedResourceID": resource, "assignedResourceRoleID": roles[0]}

    def start(self) -> None:
        """Edit in the background every `interval` simulated seconds (scaled by time_scale)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await self.sim.clock.sleep(self.interval * self.sim.limits.time_scale)
            await self.step()
