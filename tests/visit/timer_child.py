"""A child process for the crash test: the demo agent starts a timer on a ticket, prints its start,
and runs on until the parent SIGKILLs it."""

from __future__ import annotations

import asyncio
import sys

from agent.api.facade import Agent


async def main(data_dir: str, ticket_id: int) -> None:
    agent = await Agent.open_demo(data_dir, dispatcher=False)
    view = await agent.start_timer(ticket_id)
    print(f"started {view.started_at!r}", flush=True)
    await asyncio.Event().wait()  # still running, as the window would be, when the kill comes


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
