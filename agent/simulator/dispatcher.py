"""A simulated dispatcher who edits tickets on a schedule, so the technician meets conflicts."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.simulator.simulator import Simulator

DEFAULT_INTERVAL = 20.0  # simulated seconds between rounds of edits
LINES = (
    "Customer called again: please prioritise.",
    "Parts arrived at the office.",
    "Site contact changed; ask for reception.",
    "Customer asks for a visit before noon.",
    "Escalated by the account manager.",
)


class Dispatcher:
    """Edits status, priority, description or assignee of open tickets, deterministically."""

    def __init__(self, sim: Simulator, interval: float = DEFAULT_INTERVAL) -> None:
        self.sim = sim
        self.interval = interval
        self.rng = random.Random(f"{sim.seed}:dispatcher")
        self.history: list[dict[str, Any]] = []
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
        await asyncio.sleep(0)
        return edits

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
        resources = sorted(r for r, res in tenant.records["Resources"].items() if res["isActive"])
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
