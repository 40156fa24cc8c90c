"""A profile's `api_directory_url` is where every path asks for the zone: sign-in, `connect()`,
`sync`, `--headless` and the window. A profile that needs a custom directory signs in and then
syncs through it; the options of the caller still come first.

No test may reach the internet: names other than this computer's do not resolve here, so a path
that ignored the setting (and asked Autotask's own directory) fails at once instead."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.api.facade import Agent, AgentOptions
from agent.autotask import DEFAULT_DIRECTORY_URL
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.headless import serve_headless
from agent.paths import resolve
from agent.profile import open_profile
from agent.simulator import (
    DEMO_INTEGRATION_CODE,
    DEMO_SECRET,
    DEMO_USERNAME,
    Simulator,
    serve,
    serve_in_thread,
)
from agent.store.models import CachedEntity

BUNDLE = ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE)


@pytest.fixture(autouse=True)
def only_this_computer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse to resolve any name but this computer's; yields the names that were refused."""
    real = socket.getaddrinfo
    refused: list[str] = []

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1"):
            refused.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "no internet in tests")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return refused


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _simulator() -> Simulator:
    # A large hourly allowance: the agent paces its calls to it on the real clock here.
    sim = Simulator(seed="directory", tickets=6, threshold=10_000_000)
    sim.limits.latency_enabled = False
    return sim


def _prepare_profile(data_dir: Path, sim: Simulator, directory: str) -> None:
    """A profile signed in through a custom directory, as the sign-in dialog leaves it."""
    profile = open_profile(data_dir, "default")
    try:
        profile.settings_repo.save(
            api_directory_url=directory, technician_resource_id=sim.technician_resource_id
        )
        profile.vault.record_directory(directory)  # the user's choice, as Settings records it
        profile.credentials.save(BUNDLE)
    finally:
        profile.close()


def _cached_tickets(data_dir: Path) -> int:
    profile = open_profile(data_dir, "default")
    try:
        return profile.store.read(
            lambda: CachedEntity.select().where(CachedEntity.entity_type == "Tickets").count()
        )
    finally:
        profile.close()


async def _online() -> bool:
    return True


async def test_connect_and_sync_use_the_profiles_directory(
    tmp_path: Path, only_this_computer: list[str]
) -> None:
    sim = _simulator()
    async with serve(sim) as base:
        _prepare_profile(tmp_path, sim, base + "/ATServicesRest/")
        agent = await Agent.open(
            AgentOptions(data_dir=tmp_path, clock=FakeClock(), probe=_online, sample_metrics=False)
        )
        try:
            assert agent.engine is not None
            report = await agent.sync_now()
            tickets = await agent.my_tickets()
        finally:
            await agent.close()
    assert report is not None and report.error is None
    assert len(tickets) > 0
    assert only_this_computer == []  # Autotask's own directory was never even looked up


async def test_the_callers_directory_comes_before_the_profiles(tmp_path: Path) -> None:
    sim = _simulator()
    async with serve(sim) as base:
        _prepare_profile(tmp_path, sim, f"http://127.0.0.1:{closed_port()}/ATServicesRest/")
        agent = await Agent.open(
            AgentOptions(
                data_dir=tmp_path,
                directory_url=base + "/ATServicesRest/",
                clock=FakeClock(),
                probe=_online,
                sample_metrics=False,
            )
        )
        try:
            assert agent.directory_url() == base + "/ATServicesRest/"
            report = await agent.sync_now()
        finally:
            await agent.close()
    assert report is not None and report.error is None


async def test_without_either_autotasks_own_directory_is_used(tmp_path: Path) -> None:
    agent = await Agent.open(AgentOptions(data_dir=tmp_path, sample_metrics=False))
    try:
        assert agent.directory_url() == DEFAULT_DIRECTORY_URL
        await agent.update_settings(api_directory_url="https://directory.example.org/ATS/")
        assert agent.directory_url() == "https://directory.example.org/ATS/"
    finally:
        await agent.close()


async def test_sign_in_then_sync_goes_through_the_profiles_directory(tmp_path: Path) -> None:
    sim = _simulator()
    async with serve(sim) as base:
        profile = open_profile(tmp_path, "default")
        profile.settings_repo.update(api_directory_url=base + "/ATServicesRest/")
        profile.vault.record_directory(base + "/ATServicesRest/")
        profile.close()
        agent = await Agent.open(
            AgentOptions(data_dir=tmp_path, clock=FakeClock(), probe=_online, sample_metrics=False)
        )
        try:
            email = sim.dump()["Resources"][sim.technician_resource_id]["email"]
            result = await agent.sign_in(
                BUNDLE.username, BUNDLE.secret, BUNDLE.integration_code, email
            )
            assert result.ok, result.message
            report = await agent.sync_now()
        finally:
            await agent.close()
    assert report is not None and report.error is None


async def test_headless_syncs_through_the_profiles_directory(tmp_path: Path) -> None:
    sim = _simulator()
    async with serve(sim) as base:
        _prepare_profile(tmp_path, sim, base + "/ATServicesRest/")
        stop = asyncio.Event()
        running = asyncio.create_task(serve_headless(tmp_path, "default", demo=False, stop=stop))
        try:
            for _ in range(250):  # up to 5 s for the first round
                if await asyncio.to_thread(_synced, tmp_path, running):
                    break
                await asyncio.sleep(0.02)
        finally:
            stop.set()
            code = await running
    assert code == 0
    assert _cached_tickets(tmp_path) > 0


def _synced(data_dir: Path, running: asyncio.Task[int]) -> bool:
    """Whether the headless agent has stored tickets yet (read with SQLite, not the agent)."""
    if running.done():
        return True
    database = resolve(data_dir, "default").database
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.1) as db:
            row = db.execute(
                "select count(*) from cached_entity where entity_type = 'Tickets'"
            ).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def test_the_sync_command_uses_the_profiles_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], only_this_computer: list[str]
) -> None:
    from agent.cli import main

    sim = _simulator()
    with serve_in_thread(sim) as base:
        _prepare_profile(tmp_path, sim, base + "/ATServicesRest/")
        code = main(["--data-dir", str(tmp_path), "sync"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "stopped" not in out.out
    assert _cached_tickets(tmp_path) > 0
    assert only_this_computer == []
