"""A technician's visit edits in the in-process soaks, each typed through the facade and recorded
in the soak's `VisitTruth`: a checklist item ticked or unticked, a service call marked complete
or not, a part added, changed or deleted, a stopwatch run on a ticket and logged, a file
attached. The clock is the soak's fake one: a stopwatch runs for minutes that pass on it."""

from __future__ import annotations

import random
from typing import Any

from agent.api.facade import Agent
from agent.clock import FakeClock
from tests.soak.visit_model import VisitTruth

KINDS = ("checklist", "service_call", "charge", "stopwatch", "attachment")


async def visit_edit(
    agent: Agent,
    clock: FakeClock,
    rng: random.Random,
    i: int,
    mine: list[int],
    truth: VisitTruth,
) -> None:
    roll = rng.random()
    tid = rng.choice(mine)
    if roll < 0.3 and await _checklist(agent, rng, tid, truth):
        return
    if roll < 0.4 and await _service_call(agent, rng, truth):
        return
    if roll < 0.7:
        await _charge(agent, rng, i, tid, truth)
    elif roll < 0.85:
        await _stopwatch(agent, clock, rng, i, tid, truth)
    else:
        await _attachment(agent, rng, i, tid, truth)


async def _checklist(agent: Agent, rng: random.Random, tid: int, truth: VisitTruth) -> bool:
    lines = await agent.checklist(tid)
    if not lines:
        return False
    line = rng.choice(lines)
    await agent.set_checklist_item(tid, line.id, not line.done)
    truth.checklist[line.id] = not line.done
    truth.typed("checklist")
    return True


async def _service_call(agent: Agent, rng: random.Random, truth: VisitTruth) -> bool:
    """A call of today or later (the soak's clock moves on: the first days' calls pass)."""
    calls = [e for e in await agent.today(days=14) if e.kind == "service_call"]
    if not calls:
        return False
    entry = rng.choice(calls)
    await agent.complete_service_call(entry.id, not entry.complete)
    truth.calls[entry.id] = int(not entry.complete)
    truth.typed("service_call")
    return True


async def _line(agent: Agent, truth: VisitTruth, name: str) -> Any:
    ticket = truth.charges[name]["ticketID"]
    return next(c for c in await agent.charges(ticket) if c.name == name and not c.deleted)


async def _charge(agent: Agent, rng: random.Random, i: int, tid: int, truth: VisitTruth) -> None:
    live = sorted(truth.charges)
    pick = rng.random()
    if live and pick < 0.3:
        name = rng.choice(live)
        line = await _line(agent, truth, name)
        quantity = rng.choice([q for q in (2.0, 3.0, 5.0, 8.0) if q != line.quantity])
        await agent.update_charge(line.key, unitQuantity=quantity)
        truth.charges[name]["unitQuantity"] = quantity
        truth.typed("charge_edit")
    elif live and pick < 0.45:
        name = rng.choice(live)
        line = await _line(agent, truth, name)
        await agent.delete_charge(line.key)
        truth.charge_deleted(name)
        truth.typed("charge_delete")
    else:
        name, quantity = f"soak part {i}", rng.choice([1.0, 2.0, 4.0])
        await agent.add_charge(tid, quantity=quantity, name=name, unit_price=12.5)
        truth.charges[name] = {"ticketID": tid, "unitQuantity": quantity}
        truth.typed("charge_create")


async def _stopwatch(
    agent: Agent, clock: FakeClock, rng: random.Random, i: int, tid: int, truth: VisitTruth
) -> None:
    await agent.start_timer(tid)
    clock.advance(60 * rng.choice([15, 30, 45, 90]))  # the technician works on the ticket
    draft = await agent.stop_timer()
    summary = f"soak stopwatch {i}"
    await agent.log_timer(draft.id, summary=summary)
    seconds = int(draft.stopped_at) - int(draft.started_at)
    truth.timed[summary] = {"ticketID": tid, "seconds": seconds}
    truth.typed("stopwatch")


async def _attachment(
    agent: Agent, rng: random.Random, i: int, tid: int, truth: VisitTruth
) -> None:
    size = rng.randrange(2_000, 40_000)
    title = f"soak file {i}"
    await agent.attach_data(tid, f"soak-{i}.bin", rng.randbytes(size), title=title)
    truth.files[title] = {"parentID": tid, "fileSize": size}
    truth.typed("attachment")


async def uploads_done(agent: Agent) -> None:
    """Wait for the uploads the last round started (they run beside the rounds)."""
    engine = agent.engine
    if engine is not None and engine.pusher.uploads is not None:
        await engine.pusher.uploads.drain()
