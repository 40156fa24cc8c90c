"""One agent of the fleet scenario, as its own process: a real `Agent` (store file, outbox,
pipeline, `FleetLink` when a Redis URL is given) with its data key in a keyring of this process.

It takes a JSON plan as its one argument, signs in, pulls, captures its notes (and time entries),
prints `{"event": "ready"}` and waits for commands on stdin: `trip` (sync until its TimeEntries
breaker is open, then print `{"event": "tripped", "open_until": <wall clock>}`) and `go` (drain
the outbox, then print `{"event": "done", ...}`).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import keyring

from agent.api.facade import Agent, AgentOptions
from agent.credentials import ApiSecretBundle, InProcessKeyring
from agent.profile import open_profile
from agent.resilience.breaker import BreakerState
from agent.simulator import DEMO_SECRET, DEMO_USERNAME


def say(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


async def open_agent(plan: dict[str, Any]) -> Agent:
    def configure() -> None:
        profile = open_profile(plan["data_dir"])
        try:
            profile.settings_repo.save(
                quota_share=plan["quota_share"],
                fleet_size=plan["fleet_size"],
                redis_url=plan["redis_url"],
            )
        finally:
            profile.close()

    await asyncio.to_thread(configure)
    return await Agent.open(
        AgentOptions(
            data_dir=plan["data_dir"],
            directory_url=f"{plan['base']}/ATServicesRest/",
            credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, plan["integration_code"]),
            technician_resource_id=plan["technician"],
            sample_metrics=False,
        )
    )


async def capture(agent: Agent, plan: dict[str, Any]) -> None:
    tickets = plan["tickets"]
    for n, tag in enumerate(plan["notes"]):
        await agent.add_note(tickets[n % len(tickets)], tag, note_type=1, publish=1)
    for n, tag in enumerate(plan["time_entries"]):
        await agent.log_time(
            ticketID=tickets[n % len(tickets)],
            dateWorked="2026-01-05T00:00:00Z",
            hoursWorked=0.25,
            summaryNotes=tag,
            roleID=plan["role"],
        )


async def trip(agent: Agent, deadline: float) -> float:
    """Sync until the TimeEntries breaker is open; its end on the wall clock."""
    assert agent.pipeline is not None
    pipeline = agent.pipeline
    while time.monotonic() < deadline:
        await agent.sync_now()
        breaker = pipeline.breakers.get(pipeline.current_zone(), "TimeEntries")
        if breaker.state is BreakerState.OPEN:
            return time.time() + breaker.opened_until - agent.clock.monotonic()
        await asyncio.sleep(0.1)
    raise SystemExit("the TimeEntries breaker never opened")


async def drain(agent: Agent, deadline: float) -> dict[str, Any]:
    rounds = 0
    while True:
        await agent.sync_now()
        rounds += 1
        status = await agent.status()
        if status.pending == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    fleet = agent.pipeline.fleet if agent.pipeline is not None else None
    pacer = agent.pipeline.pacer if agent.pipeline is not None else None
    return {
        "agents_planned": pacer.active_agents() if pacer is not None else None,
        "readings": pacer.reads if pacer is not None else None,
        "pending": status.pending,
        "needs_attention": status.needs_attention,  # parked: kept here, not sent, not lost
        "conflicts": status.conflicts,
        "rounds": rounds,
        "fallbacks": fleet.fallbacks if fleet is not None else None,
    }


async def main(plan: dict[str, Any]) -> None:
    keyring.set_keyring(InProcessKeyring())
    agent = await open_agent(plan)
    try:
        deadline = time.monotonic() + plan["deadline_s"]
        # Ten first syncs may spend the fleet's share on their own: wait for budget, as an
        # agent does, rather than give up.
        while not (await agent.status()).first_sync_done:
            first = await agent.sync_now()
            if time.monotonic() > deadline:
                raise SystemExit(f"the first sync failed: {first and first.error}")
            await asyncio.sleep(0.5)
        await capture(agent, plan)
        say("ready")
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            if line == "trip":
                say("tripped", open_until=await trip(agent, deadline))
            elif line == "go":
                started = time.time()
                result = await drain(agent, deadline)
                say("done", started=started, ended=time.time(), **result)
                return
    finally:
        await agent.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
