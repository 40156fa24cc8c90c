"""One life of the agent in the crash soak: capture the plan's edits from `start` on, then sync
until nothing is left. It prints `captured <i>` after each edit returns; the parent SIGKILLs it
at random moments and starts it again."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.api.facade import Agent, AgentOptions
from agent.credentials import ApiSecretBundle
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME

# The field that names a create of each kind in its capture's audit event.
TAG_FIELDS = {
    "note": "description",
    "time": "summaryNotes",
    "timer": "summaryNotes",
    "charge": "name",
    "attach": "title",
}


async def already_captured(agent: Agent, edit: dict[str, Any]) -> bool:
    """A kill can land between an edit's commit and its `captured` line: never capture twice.
    (The other kinds set a state: typed again, they change nothing.)"""
    key = TAG_FIELDS.get(edit["kind"])
    if key is None:
        return False
    text = f'"{key}":"{edit["tag"]}"'
    return bool(await agent.audit_events(action="edit_captured", text=text, limit=1))


async def part(agent: Agent, edit: dict[str, Any]) -> Any:
    """The part `edit` names, unless it is deleted (or its deletion waits to be sent)."""
    lines = await agent.charges(edit["ticket"])
    return next((c for c in lines if c.name == edit["tag"] and not c.deleted), None)


async def stopwatch(agent: Agent, edit: dict[str, Any]) -> None:
    """Start, stop and log a timer; a life killed half-way left it running or stopped."""
    state = await agent.timer()
    drafts = [d for d in state.drafts if d.ticket_id == edit["ticket"]]
    if not drafts:
        await agent.start_timer(edit["ticket"])  # one running there already is kept
        drafts = [await agent.stop_timer()]
    draft = drafts[0]
    # Real time passes in milliseconds here: the technician corrects the end to the minutes
    # worked, as the confirmation form lets them.
    end = datetime.fromtimestamp(draft.started_at + 60 * edit["minutes"], UTC)
    await agent.log_timer(draft.id, summary=edit["tag"], end=end)


async def apply_visit(agent: Agent, edit: dict[str, Any]) -> None:
    kind = edit["kind"]
    if kind == "checklist":
        await agent.set_checklist_item(edit["ticket"], edit["item"], edit["done"])
    elif kind == "call":
        await agent.complete_service_call(edit["call"], bool(edit["complete"]))
    elif kind == "charge":
        await agent.add_charge(
            edit["ticket"], quantity=edit["quantity"], name=edit["tag"], unit_price=edit["price"]
        )
    elif kind == "charge_edit":
        line = await part(agent, edit)
        await agent.update_charge(line.key, unitQuantity=edit["quantity"])
    elif kind == "charge_delete":
        line = await part(agent, edit)
        if line is not None:  # else deleted by a life that was killed before saying so
            await agent.delete_charge(line.key)
    elif kind == "timer":
        await stopwatch(agent, edit)
    elif kind == "attach":
        data = random.Random(edit["tag"]).randbytes(edit["size"])
        await agent.attach_data(edit["ticket"], f"{edit['tag']}.bin", data, title=edit["tag"])
    else:
        raise ValueError(f"unknown edit {kind!r}")


async def apply(agent: Agent, edit: dict[str, Any]) -> None:
    if edit["kind"] not in ("ticket", "note", "time"):
        await apply_visit(agent, edit)
    elif edit["kind"] == "ticket":
        await agent.update_ticket(edit["ticket"], **{edit["field"]: edit["value"]})
    elif edit["kind"] == "note":
        await agent.add_note(
            edit["ticket"], edit["tag"], note_type=edit["note_type"], publish=edit["publish"]
        )
    else:
        await agent.log_time(
            ticketID=edit["ticket"],
            dateWorked="2026-01-05T00:00:00Z",
            hoursWorked=edit["hours"],
            summaryNotes=edit["tag"],
            roleID=edit["role"],
        )


DRAIN_S = 480.0


async def main(
    data_dir: str, base: str, plan: list[dict[str, Any]], start: int, technician: int
) -> int:
    agent = await Agent.open(
        AgentOptions(
            data_dir=data_dir,
            directory_url=f"{base}/ATServicesRest/",
            credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            technician_resource_id=technician,
            sample_metrics=False,
            # A killed child's keyring would die with it: its data is kept unencrypted, by consent.
            allow_unencrypted=True,
        )
    )
    try:
        if not (await agent.status()).first_sync_done:
            await agent.sync_now()
        for i in range(start, len(plan)):
            if not await already_captured(agent, plan[i]):
                await apply(agent, plan[i])
            print(f"captured {i}", flush=True)
        # Drain. A create whose sending was cut by a kill is sent again only once no attempt
        # of it can still land (its deadline plus the server's execution limit): minutes.
        drain_until = time.monotonic() + DRAIN_S
        while True:
            await agent.sync_now()
            status = await agent.status()
            if status.pending == 0 and status.conflicts == 0:
                break
            if time.monotonic() > drain_until:
                break
            await asyncio.sleep(0.5)
        print("done", flush=True)
        return 0
    finally:
        await agent.close()


if __name__ == "__main__":
    d, b, p, s, t = sys.argv[1:6]
    steps = json.loads(Path(p).read_text())
    raise SystemExit(asyncio.run(main(d, b, steps, int(s), int(t))))
