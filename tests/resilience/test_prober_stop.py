"""Closing never waits on the connectivity prober: stopped while a probe is under way, it ends
even when the probe lets the cancellation pass (as `asyncio.wait_for` does on Python 3.11 when a
connection opens at the same moment), instead of going back to waiting for the next outage."""

from __future__ import annotations

import asyncio

from agent.clock import FakeClock
from agent.resilience.connectivity import Connectivity
from agent.resilience.pipeline import Pipeline


async def test_a_prober_stopped_mid_probe_ends_though_the_probe_swallows_the_cancel() -> None:
    probing = asyncio.Event()

    async def probe() -> bool:
        probing.set()
        try:
            await asyncio.Event().wait()  # a connect under way ...
        except asyncio.CancelledError:
            return True  # ... that completed as the cancellation came: the result wins
        return False

    conn = Connectivity(probe, FakeClock(), failures_to_offline=1)
    pipeline = Pipeline(clock=FakeClock(), connectivity=conn)
    await pipeline.__aenter__()
    conn.mark_offline()
    async with asyncio.timeout(10.0):  # a hang guard only
        await probing.wait()
        await pipeline.__aexit__(None, None, None)  # it returns: the prober has ended
    assert conn.probes == 1 and conn.online
