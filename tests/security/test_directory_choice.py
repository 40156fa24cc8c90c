"""The directory the credentials follow is the one the user chose: an edit of the database's
`api_directory_url` alone sends nothing anywhere, and a choice made in Settings takes effect in
the running agent."""

from __future__ import annotations

import dataclasses
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.profile import open_profile
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from tests.e2e.conftest import options

BUNDLE = ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE)
GOOD, EVIL, OTHER = "https://good.test", "https://evil.test", "https://other.test"


class Hosts:
    """The simulator behind any host name, recording which hosts were asked anything."""

    def __init__(self, sim: Simulator) -> None:
        self.sim, self.asked = sim, []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.asked.append(dict(scope["headers"]).get(b"host", b"").decode())
        await self.sim.app(scope, receive, send)


def _profile(data_dir: Path, sim: Simulator, directory: str) -> None:
    profile = open_profile(data_dir, "default")
    try:
        profile.settings_repo.save(
            api_directory_url=directory, technician_resource_id=sim.technician_resource_id
        )
        profile.vault.record_directory(directory)  # as Settings records the user's choice
        profile.credentials.save(BUNDLE)
    finally:
        profile.close()


def _opts(sim: Simulator, clock: FakeClock, data_dir: Path, hosts: Hosts) -> Any:
    import httpx

    return dataclasses.replace(
        options(sim, clock, data_dir),
        directory_url=None,
        credentials=None,
        transport=httpx.ASGITransport(app=hosts),
    )


async def test_a_directory_written_into_the_database_receives_nothing(tmp_path: Path) -> None:
    clock = FakeClock()
    sim = Simulator(seed="choice", tickets=4, clock=clock)
    sim.limits.latency_enabled = False
    hosts = Hosts(sim)
    _profile(tmp_path, sim, GOOD + "/ATServicesRest/")
    agent = await Agent.open(_opts(sim, clock, tmp_path, hosts))
    try:
        assert (await agent.sync_now()).error is None
    finally:
        await agent.close()
    database = tmp_path / "profiles" / "default" / "agent.sqlite3"
    with closing(sqlite3.connect(database)) as conn:  # behind the program's back
        conn.execute(
            "UPDATE setting SET value = ? WHERE key = 'api_directory_url'",
            ('"' + EVIL + '/ATServicesRest/"',),
        )
        conn.commit()
    hosts.asked.clear()
    agent = await Agent.open(_opts(sim, clock, tmp_path, hosts))
    try:
        assert await agent.sync_now() is None  # not signed in: nothing to send it with
        status = await agent.status()
        assert not status.signed_in and "not one you chose" in status.reason
        assert not [h for h in hosts.asked if "evil" in h], hosts.asked
    finally:
        await agent.close()


async def test_a_directory_chosen_in_settings_is_used_by_the_running_agent(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="choice2", tickets=4, clock=clock)
    sim.limits.latency_enabled = False
    hosts = Hosts(sim)
    _profile(tmp_path, sim, GOOD + "/ATServicesRest/")
    agent = await Agent.open(_opts(sim, clock, tmp_path, hosts))
    try:
        assert (await agent.sync_now()).error is None
        hosts.asked.clear()
        await agent.update_settings(api_directory_url=OTHER + "/ATServicesRest/")
        assert (await agent.sync_now()).error is None
        assert hosts.asked and "other.test" in hosts.asked[0], hosts.asked
        assert not [h for h in hosts.asked if "good" in h]
    finally:
        await agent.close()
