"""The fleet's Redis stopped in the middle of a sync: the sync still completes, paced by the
agent's local share, the outage is logged once, and the agent rejoins the shared budget when
that Redis comes back. A redis-server of this test's own, on a free loopback port, is the one
stopped; what reached Autotask is counted from the simulator's records."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import redis

from agent.resilience.fleet import FleetLink
from tests.soak.fleet import RedisServer
from tests.sync.engine_world import World, new_title_edits, reopen, world_at

FLEET_LOG = "agent.resilience.fleet"

# A redis-server of its own is started and stopped on a free port: without the program this
# skips locally and fails in CI, where it must be installed (the Linux workflow installs it).
pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        shutil.which("redis-server") is None and not os.environ.get("CI"),
        reason="no redis-server program",
    ),
]


def on_server(w: World, kind: str, key: str, text: str) -> int:
    """How many of the simulator's `kind` records hold `text` in `key`."""
    return sum(1 for r in w.sim.dump()[kind].values() if r.get(key) == text)


def stop_after(w: World, server: RedisServer, requests: int, seen: dict[str, Any]) -> None:
    """Stop `server` as the simulator admits the `requests`-th request from now on."""
    admit = w.sim.limits.admit

    def admitting(tenant: str) -> float | None:
        seen["admitted"] = seen.get("admitted", 0) + 1
        if seen["admitted"] == requests:
            fleet = w.agent.pipeline.fleet if w.agent.pipeline else None
            assert isinstance(fleet, FleetLink)
            client = redis.Redis.from_url(server.url)
            try:
                seen["budget_in_redis"] = bool(client.exists(f"{fleet.prefix}:budget"))
            finally:
                client.close()
            seen["fallbacks_before"] = fleet.fallbacks
            server.stop()
        elif seen["admitted"] > requests:
            seen["after_stop"] = seen.get("after_stop", 0) + 1
        return admit(tenant)

    w.sim.limits.admit = admitting  # type: ignore[method-assign]


async def test_redis_stopped_mid_sync_falls_back_logs_once_and_rejoins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tmp_path)
    await server.start()
    try:
        async with world_at(tmp_path / "agent", seed="fleetdown") as w:
            assert (await w.sync()).error is None
            await w.agent._threads.run(w.agent.profile.settings_repo.save, redis_url=server.url)
            agent = await reopen(w)
            assert agent.pipeline is not None
            fleet = agent.pipeline.fleet
            assert isinstance(fleet, FleetLink)
            retry = fleet.retry_interval

            titles = await new_title_edits(w, 6, prefix="Compressor replaced")
            notes = [f"Fallback note {n}" for n in range(4)]
            for n, ticket in enumerate(titles):
                if n < len(notes):
                    await agent.add_note(ticket, notes[n], note_type=1, publish=1)
            caplog.set_level(logging.INFO, logger=FLEET_LOG)

            # Redis goes away on the drain's third request; the same sync carries on.
            seen: dict[str, Any] = {}
            stop_after(w, server, 3, seen)
            report = await w.sync()
            assert report.error is None
            assert seen["budget_in_redis"] and seen["fallbacks_before"] == 0  # shared until then
            assert seen.get("after_stop", 0) > 0  # and the sync went on without it
            assert fleet.fallbacks > 0 and not fleet.connected
            # Still down at the next tries: nothing more is logged.
            for _ in range(3):
                w.clock.advance(retry + 1)
                assert (await w.sync()).error is None
            await w.sync_until_sent(titles, step=retry + 1, rounds=10)
            for ticket, title in titles.items():
                assert w.server_ticket(ticket)["title"] == title
            for text in notes:
                assert on_server(w, "TicketNotes", "description", text) == 1
            down = [r for r in caplog.records if r.name == FLEET_LOG]
            assert [r.levelno for r in down] == [logging.WARNING], [r.message for r in down]
            assert "local share" in down[0].getMessage()

            # The server comes back (empty, as a restarted Redis without persistence is).
            caplog.clear()
            await server.start()
            w.clock.advance(retry + 1)
            later = await new_title_edits(w, 8, prefix="Follow-up visit booked")
            before = fleet.fallbacks
            await w.sync_until_sent(later, step=retry + 1, rounds=10)
            assert fleet.connected and fleet.fallbacks == before  # every token shared again
            for ticket, title in later.items():
                assert w.server_ticket(ticket)["title"] == title
            client = redis.Redis.from_url(server.url)
            try:
                assert client.exists(f"{fleet.prefix}:budget")
            finally:
                client.close()
            back = [r for r in caplog.records if r.name == FLEET_LOG]
            assert [r.levelno for r in back] == [logging.INFO], [r.message for r in back]
            assert "again" in back[0].getMessage()
    finally:
        server.stop()
