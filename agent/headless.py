"""Running the agent without a window: open the profile, optionally serve the demo tenant, and
keep going until interrupted (SIGINT/SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from agent.profile import open_profile

log = logging.getLogger(__name__)


async def _serve_until_stopped(
    data_dir: str | Path | None, profile_name: str, demo: bool, stop: asyncio.Event
) -> int:
    profile = open_profile(data_dir, profile_name, console_log=True)
    try:
        if profile.recovery is not None:
            print(profile.recovery.message)
        async with contextlib.AsyncExitStack() as stack:
            if demo:
                from agent.simulator import Simulator, serve

                sim = Simulator(seed="demo")
                base_url = await stack.enter_async_context(serve(sim, port=0))
                print(f"Demo tenant served at {base_url}")
            print(
                f"Field Sync agent running on profile '{profile_name}' "
                f"({profile.paths.database}); press Ctrl-C to stop.",
                flush=True,
            )
            await stop.wait()
        return 0
    finally:
        profile.close()


def run_headless(data_dir: str | Path | None, profile_name: str, *, demo: bool = False) -> int:
    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows has no add_signal_handler
                loop.add_signal_handler(sig, stop.set)
        return await _serve_until_stopped(data_dir, profile_name, demo, stop)

    return asyncio.run(main())
