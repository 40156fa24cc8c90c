"""The fault soak: thousands of mixed edits synced through 5xx bursts, 429s, thread-limit
answers, lost responses after commit, resets, latency spikes, a zone migration and a dispatcher
editing the same tickets; afterwards the server must equal an independent model of the edits.
Beside the ticket fields, notes and time entries, every few edits is a visit's: a checklist item
ticked or unticked, a service call completed, a part added, changed or deleted, a stopwatch run
and logged, a file attached (`tests.soak.visit_edits`), counted the same way.

Runs in process (ASGI transport) on one fake clock shared by the agent and the simulator, so an
"hour" of retries passes in seconds and every run with the same seed is the same run.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.store.models import OpState
from tests.e2e.conftest import options
from tests.soak.model import SoakModel
from tests.soak.visit_edits import uploads_done, visit_edit
from tests.soak.visit_model import VisitTruth, combined
from tests.soak.world import agent_integrity

TECH_FIELDS = ("status", "priority", "title")
VISIT_EVERY = 4  # one visit edit after every fourth edit


def install_faults(sim: Simulator, rng: random.Random) -> None:
    f = sim.faults
    for status in (500, 502, 503, 504):
        f.error(status, rate=0.02)
    f.error(503, route="tickets*", rate=0.05, count=40)  # a burst on one endpoint
    f.drop_response(verb="POST", rate=0.04)  # applied, then the answer is lost
    f.drop_response(verb="PATCH", rate=0.04)
    f.reset(rate=0.02)
    f.throttle(retry_after=30, rate=0.01)  # 429: the tenant's hourly quota
    f.thread_limit(rate=0.02)  # 429: Thread Threshold Exceeded
    f.latency(2.0, rate=0.05, distribution="exponential", max_seconds=20.0)


async def run_fault_soak(
    workdir: Path, *, ops: int = 5000, seed: int = 7, tickets: int = 400
) -> dict[str, Any]:
    rng = random.Random(seed)
    clock = FakeClock()
    sim = Simulator(seed=f"soak-{seed}", tickets=tickets, clock=clock, threshold=200_000)
    sim.limits.latency_enabled = False
    agent = await Agent.open(options(sim, clock, workdir))
    model = SoakModel()
    visits = VisitTruth()
    visit_rng = random.Random(f"{seed}:visits")  # the other edits stay as they were per seed
    try:
        first = await agent.sync_now()
        assert first is not None and first.error is None, first
        mine = [t.id for t in await agent.my_tickets()]
        statuses = sorted((await agent.picklists("Tickets"))["status"])
        priorities = sorted((await agent.picklists("Tickets"))["priority"])
        note_lists = await agent.picklists("TicketNotes")
        roles = (await agent.resources())[sim.technician_resource_id][1]
        install_faults(sim, rng)
        live_entries: dict[str, int] = {}  # tag -> ticket id
        for i in range(ops):
            await one_edit(
                agent,
                sim,
                rng,
                i,
                mine,
                statuses,
                priorities,
                note_lists,
                roles,
                live_entries,
                model,
            )
            if i % VISIT_EVERY == VISIT_EVERY - 1:
                await visit_edit(agent, clock, visit_rng, i, mine, visits)
            if i % 5 == 4:
                await dispatcher_edit(agent, sim, rng, mine, statuses, model)
            if i == ops // 2:
                sim.faults.migrate_zone(sim.zone + 2)
            if i % 50 == 49:
                clock.advance(rng.uniform(1, 90))
                await agent.sync_now()
                await resolve_some_theirs(agent, sim, rng, model)
        sim.faults.clear()
        await drain(agent, clock)
        parked = await parked_ops(agent)
        server = sim.dump()
        result = combined(model.check(server, parked), visits.check(server, parked))
        result["integrity"] = agent_integrity(agent)
        result["pending"] = (await agent.status()).pending
        result["whereabouts"] = await whereabouts(agent, result["examples"]["lost"])
        result["audit_ok"] = (await agent.verify_audit()).ok
        resolved = await agent.audit_events(action="conflict_resolved", limit=100_000)
        result["kept_theirs"] = sum(e.detail.get("choice") == "theirs" for e in resolved)
        return result
    finally:
        await agent.close()


async def one_edit(
    agent: Agent,
    sim: Simulator,
    rng: random.Random,
    i: int,
    mine: list[int],
    statuses: list[int],
    priorities: list[int],
    note_lists: dict[str, Any],
    roles: list[int],
    live_entries: dict[str, int],
    model: SoakModel,
) -> None:
    roll = rng.random()
    tid = rng.choice(mine)
    model.ops += 1
    if roll < 0.45:
        # A value this field never held on either side (nor in the agent's cached view): the
        # technician's edit then never equals its base, so the expected outcome depends only on
        # "applied exactly once"; what a merge decides for equal values is the merge tests' job.
        name = rng.choice(TECH_FIELDS)
        shown = await agent.ticket(tid)
        assert shown is not None
        held = model.held.setdefault((tid, name), set())
        held |= {sim.tenant.records["Tickets"][tid][name], shown.fields[name].value}
        choices = sorted(set({"status": statuses, "priority": priorities}.get(name, [])) - held)
        if not choices:
            name = "title"
        value: Any = rng.choice(choices) if name != "title" else f"Soak title {i}"
        await agent.update_ticket(tid, **{name: value})
        model.ticket_fields[(tid, name)] = value
        model.held.setdefault((tid, name), set()).add(value)
    elif roll < 0.65:
        text = f"soak note {i}"
        await agent.add_note(
            tid, text, note_type=min(note_lists["noteType"]), publish=min(note_lists["publish"])
        )
        model.notes.add(text)
    elif roll < 0.85 or not live_entries:
        tag = f"soak time {i}"
        hours = rng.choice([0.25, 0.5, 1.0, 1.5, 2.0])
        await agent.log_time(
            ticketID=tid,
            dateWorked="2026-01-05T00:00:00Z",
            hoursWorked=hours,
            summaryNotes=tag,
            roleID=roles[0],
        )
        model.entries[tag] = hours
        live_entries[tag] = tid
    else:
        tag = rng.choice(sorted(live_entries))
        detail = await agent.ticket(live_entries[tag])
        assert detail is not None
        entry = next(e for e in detail.time_entries if e.summary == tag)
        if roll < 0.95:
            hours = rng.choice([0.75, 1.25, 3.0])
            await agent.update_time_entry(entry.key, hoursWorked=hours)
            model.entries[tag] = hours
        else:
            await agent.delete_time_entry(entry.key)
            del model.entries[tag]
            del live_entries[tag]
            model.deleted_entries.add(tag)


async def dispatcher_edit(
    agent: Agent,
    sim: Simulator,
    rng: random.Random,
    mine: list[int],
    statuses: list[int],
    model: SoakModel,
) -> None:
    """The dispatcher changes a ticket: the description (never edited here) or the status."""
    tid = rng.choice(mine)
    if rng.random() < 0.7:
        text = f"dispatcher note {rng.random():.6f}"
        sim.edit_ticket(tid, description=text)
        model.ticket_fields[(tid, "description")] = text
        return
    held = model.held.setdefault((tid, "status"), {sim.tenant.records["Tickets"][tid]["status"]})
    choices = sorted(set(statuses) - held)
    if not choices:
        return
    value = rng.choice(choices)
    held.add(value)
    detail = await agent.ticket(tid)
    assert detail is not None
    sim.edit_ticket(tid, status=value)
    if not detail.fields["status"].pending:
        # Nothing of mine is waiting on this field: the dispatcher's value stands.
        model.ticket_fields[(tid, "status")] = value
    # else: mine is pending; a conflict resolved "mine" keeps mine in the model, one resolved
    # "theirs" (resolve_some_theirs) puts the server's value back in it.


async def resolve_some_theirs(
    agent: Agent, sim: Simulator, rng: random.Random, model: SoakModel
) -> None:
    """Half the open conflicts keep Autotask's value (the path where the rest of the change
    was sent beside the conflict, whose pending marks must end with it), the rest the
    technician's."""
    for c in await agent.conflicts():
        if c.entity_type != "Tickets" or rng.random() < 0.5:
            continue
        await agent.resolve_conflict(c.id, "theirs")
        detail = await agent.ticket(c.entity_id)
        assert detail is not None
        if not detail.fields[c.field].pending:  # no newer edit of mine still to go
            model.ticket_fields[(c.entity_id, c.field)] = sim.tenant.records["Tickets"][
                c.entity_id
            ][c.field]
    await resolve_all_mine(agent)


async def resolve_all_mine(agent: Agent) -> None:
    if await agent.conflicts():
        await agent.resolve_all("mine")


async def drain(agent: Agent, clock: FakeClock, rounds: int = 60) -> None:
    """Sync until nothing is left to send, letting backoffs and leases expire between rounds."""
    for _ in range(rounds):
        await resolve_all_mine(agent)
        status = await agent.status()
        if status.pending == 0 and status.conflicts == 0:
            return
        clock.advance(400)
        await agent.sync_now()
        await uploads_done(agent)


async def whereabouts(agent: Agent, tags: list[str]) -> list[str]:
    """Where each of `tags` (a note's or time entry's text) sits in the agent's outbox, so a
    lost edit says whether it was never queued, is still waiting, or was marked done."""
    page = await agent.queue_page(limit=100_000)
    found: list[str] = []
    for item in page.items:
        op = await agent.store.aread(lambda i=item.id: agent.outbox.get(i))
        assert op is not None
        text = str(op.fields.get("summaryNotes") or op.fields.get("description"))
        if text in tags:
            found.append(f"{text}: op {op.id} {op.kind} {op.state} ({op.last_error or ''})")
    return found


async def parked_ops(agent: Agent) -> list[dict[str, Any]]:
    page = await agent.queue_page(states=[OpState.PARKED], limit=100_000)
    out = []
    for item in page.items:
        op = await agent.store.aread(lambda i=item.id: agent.outbox.get(i))
        assert op is not None
        out.append(
            {
                "entity_type": op.entity_type,
                "target_id": op.target_id,
                "fields": dict(op.fields),
                "reason": op.reason or op.last_error,
            }
        )
    return out
