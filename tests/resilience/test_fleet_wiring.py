"""With `redis_url` set, the agent shares its budget and breakers through the real Redis, and
nothing about a ticket reaches Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from agent.api.fleet_link import PREFIX
from agent.resilience.fleet import FleetLink
from tests.conftest import REDIS_HOST, REDIS_PORT
from tests.sync.engine_world import new_title_edits, reopen, world_at

REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/12"


async def everything_in(client: aioredis.Redis) -> dict[bytes, bytes]:
    """Every key of the database and its value, whatever its type, as bytes."""
    found: dict[bytes, bytes] = {}
    async for key in client.scan_iter():
        kind = (await client.type(key)).decode()
        if kind == "string":
            found[key] = await client.get(key) or b""
        elif kind == "hash":
            found[key] = repr(await client.hgetall(key)).encode()
        elif kind in ("list", "set", "zset"):
            found[key] = repr(await client.dump(key)).encode()
        else:
            found[key] = repr(await client.dump(key)).encode()
    return found


@pytest.mark.redis
async def test_a_redis_url_makes_the_agent_draw_from_the_fleets_budget_and_keeps_tickets_out(
    tmp_path: Path,
) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    try:
        async with world_at(tmp_path, seed="fleetwire") as w:
            assert (await w.sync()).error is None
            assert w.agent.pipeline is not None and w.agent.pipeline.fleet is None  # none set
            await w.agent._threads.run(w.agent.profile.settings_repo.save, redis_url=REDIS_URL)
            agent = await reopen(w)
            assert agent.pipeline is not None
            fleet = agent.pipeline.fleet
            assert isinstance(fleet, FleetLink) and fleet.prefix.startswith(PREFIX + ":")
            wanted = await new_title_edits(w, 3, prefix="Secret compressor fault at")
            ticket = next(iter(wanted))
            await agent.add_note(ticket, "Door code 4711, alarm off", note_type=1, publish=1)
            await w.sync_until_sent(wanted, step=5.0, rounds=10)
            for tid, title in wanted.items():
                assert w.server_ticket(tid)["title"] == title
            assert fleet.fallbacks == 0  # every token came from the shared bucket
            written = await everything_in(client)
            assert f"{fleet.prefix}:budget".encode() in written
            blob = b"\n".join(k + b"=" + v for k, v in written.items())
            for text in (*wanted.values(), "Door code", "compressor"):
                assert text.encode() not in blob
            assert b"Tickets" not in blob or all(
                k.startswith(fleet.prefix.encode()) for k in written
            )
    finally:
        await client.flushdb()
        await client.aclose()
