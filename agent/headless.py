"""Running the agent without a window: open the profile (or the demo tenant), run the sync loop,
optionally serve Prometheus metrics on loopback, and stop cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from agent.api.facade import Agent, AgentOptions

log = logging.getLogger(__name__)


async def serve_headless(
    data_dir: str | Path | None,
    profile_name: str,
    *,
    demo: bool,
    stop: asyncio.Event,
    metrics_port: int | None = None,
    allow_unencrypted: bool = False,
) -> int:
    if demo:
        agent = await Agent.open_demo(data_dir)
    else:
        agent = await Agent.open(
            AgentOptions(
                data_dir=data_dir, profile=profile_name, allow_unencrypted=allow_unencrypted
            )
        )
    metrics = None
    try:
        if agent.profile.recovery is not None:
            print(agent.profile.recovery.message, flush=True)
        if agent.engine is None:
            why = agent.sign_in_problem
            print(
                f"error: {why}"
                if why
                else "error: not signed in to Autotask: sign in from the window first, "
                "or use --demo.",
                file=sys.stderr,
                flush=True,
            )
            return 2
        if metrics_port is not None:
            from agent.monitor.prometheus import start_metrics_server

            try:
                metrics = start_metrics_server(agent.observe.monitor.registry, metrics_port)
            except OSError as exc:
                print(
                    f"error: metrics cannot be served on 127.0.0.1:{metrics_port} "
                    f"({exc.strerror or exc}); choose another --metrics-port.",
                    file=sys.stderr,
                    flush=True,
                )
                return 2
            print(f"Prometheus metrics at {metrics.url}", flush=True)
        agent.start()
        where = f" (demo tenant at {agent.demo_base_url})" if agent.demo_base_url else ""
        print(
            f"Field Sync agent running on profile '{agent.profile.paths.profile}'{where}; "
            "press Ctrl-C to stop.",
            flush=True,
        )
        await stop.wait()
        return 0
    finally:
        if metrics is not None:
            metrics.close()
        await agent.close()


def run_headless(
    data_dir: str | Path | None,
    profile_name: str,
    *,
    demo: bool = False,
    metrics_port: int | None = None,
    allow_unencrypted: bool = False,
) -> int:
    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows has no add_signal_handler
                loop.add_signal_handler(sig, stop.set)
        return await serve_headless(
            data_dir,
            profile_name,
            demo=demo,
            stop=stop,
            metrics_port=metrics_port,
            allow_unencrypted=allow_unencrypted,
        )

    return asyncio.run(main())
