"""One life of the agent in the crash soak: capture the plan's edits from `start` on, then sync
until nothing is left. It prints `captured <i>` after each edit returns; the parent SIGKILLs it
at random moments and starts it again."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from agent.api.facade import Agent, AgentOptions
from agent.credentials import ApiSecretBundle
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME


async def already_captured(agent: Agent, edit: dict[str, Any]) -> bool:
    """A kill can land between an edit's commit and its `captured` line: never capture twice."""
    tag = edit.get("tag")
    if tag is None:
        return False
    key = "summaryNotes" if edit["kind"] == "time" else "description"
    return bool(await agent.audit_events(action="edit_captured", text=f'"{key}":"{tag}"', limit=1))


async def apply(agent: Agent, edit: dict[str, Any]) -> None:
    if edit["kind"] == "ticket":
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
