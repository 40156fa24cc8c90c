"""One headless agent of a fleet test, run as a subprocess: paces reads through a shared budget
and reports what it sent and which breakers it saw open.

Usage: python -m tests.resilience.fleet_agent BASE_URL REDIS_URL PREFIX ROLE SECONDS
ROLE is "trip" (opens the Companies breaker by real failures) or "watch" (waits to see it open).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

import httpx
import redis.asyncio as aioredis

from agent.autotask import ApiCredentials
from agent.autotask.client import AutotaskClient
from agent.autotask.entities import Company, Ticket
from agent.autotask.session import ClientOptions
from agent.resilience import (
    BreakerRegistry,
    BreakerSettings,
    BreakerState,
    FleetLink,
    Pipeline,
    PipelineError,
    QuotaPacer,
    QuotaSettings,
    ThresholdInfo,
)
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME

BURST = 5.0


async def start_together(redis_url: str, prefix: str) -> None:
    """Report ready, then wait for the test's go, so the agents' busy phases overlap."""
    board = aioredis.Redis.from_url(redis_url)
    try:
        await board.incr(f"{prefix}:ready")
        while not await board.exists(f"{prefix}:go"):  # noqa: ASYNC110 (another process sets it)
            await asyncio.sleep(0.01)
    finally:
        await board.aclose()


async def run(
    base: str, redis_url: str, prefix: str, role: str, seconds: float
) -> dict[str, object]:
    fleet = FleetLink(redis_url, prefix, expected_agents=3, poll_interval=0.02)
    async with httpx.AsyncClient() as http:
        client = AutotaskClient(
            http,
            ApiCredentials(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            options=ClientOptions(directory_url=base + "/ATServicesRest/"),
        )
        await client.session.current_zone()  # the zone lookup is free of quota

        async def threshold() -> ThresholdInfo:
            t = await client.threshold()
            return ThresholdInfo(t.limit, t.timeframe_minutes, t.used)

        pipeline = Pipeline(
            zone=lambda: client.zone.name if client.zone else "unknown",
            breakers=BreakerRegistry(BreakerSettings(min_calls=3, break_seconds=30.0)),
            pacer=QuotaPacer(threshold, QuotaSettings(share=1.0, burst=BURST), budget=fleet),
            fleet=fleet,
        )
        async with pipeline:
            ticket_id = int(sys.argv[6])
            await start_together(redis_url, prefix)
            started = time.time()
            sent = 0
            while time.time() - started < seconds:
                await pipeline.call(
                    endpoint="Tickets", kind="write", fn=lambda t: client.get(Ticket, ticket_id)
                )
                sent += 1
            ended = time.time()
            seen_open = False
            if role == "trip":
                for _ in range(3):
                    with contextlib.suppress(PipelineError):
                        await pipeline.call(
                            endpoint="Companies",
                            kind="write",
                            fn=lambda t: client.get(Company, 1),
                        )
                seen_open = pipeline.breakers.get(pipeline.current_zone(), "Companies").state is (
                    BreakerState.OPEN
                )
                await fleet.sync(pipeline.breakers)
            else:
                deadline = time.time() + 8.0
                while time.time() < deadline and not seen_open:
                    await fleet.sync(pipeline.breakers)
                    breaker = pipeline.breakers.get(pipeline.current_zone(), "Companies")
                    seen_open = breaker.state is BreakerState.OPEN
                    await asyncio.sleep(0.02)
            return {
                "role": role,
                "sent": sent,
                "started": started,
                "ended": ended,
                "seen_open": seen_open,
                "fallbacks": fleet.fallbacks,
                "rate": pipeline.pacer.rate(),
            }


if __name__ == "__main__":
    base_url, redis_url, prefix, role, seconds = sys.argv[1:6]
    print(json.dumps(asyncio.run(run(base_url, redis_url, prefix, role, float(seconds)))))
