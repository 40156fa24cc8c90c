"""The public `Agent` reaches the data-protection machinery: wiping at sign-out, switching
encryption, rotating the key, refusing insecure addresses and applying retention."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.profile import open_profile
from agent.security.errors import InsecureUrlError
from agent.security.keys import DATA_KEY
from agent.security.retention import DAY
from agent.simulator import Simulator
from agent.store.models import AuditEvent, CachedEntity, MetricSample
from tests.e2e.conftest import options
from tests.security.helpers import raw_blobs
from tests.security.keyring_helpers import service

PLAIN_HOST = "http://autotask.example.com/ATServicesRest/"


def stored_key(data_dir: Path) -> bytes | None:
    text = keyring.get_password(service(data_dir), DATA_KEY)
    return None if text is None else base64.b64decode(text)


@dataclass
class Synced:
    sim: Simulator
    agent: Agent
    clock: FakeClock
    data_dir: Path
    title: str


@pytest.fixture(name="s")
async def synced(tmp_path: Path) -> AsyncIterator[Synced]:
    clock = FakeClock()
    sim = Simulator(seed="wiring", tickets=20, clock=clock)
    sim.limits.latency_enabled = False
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        report = await agent.sync_now()
        assert report is not None and report.error is None
        tickets = await agent.my_tickets()
        assert tickets
        title = sim.dump()["Tickets"][tickets[0].id]["title"]
        yield Synced(sim, agent, clock, tmp_path, title)
    finally:
        await agent.close()


def _raw(s: Synced) -> bytes:
    s.agent.store.checkpoint()
    return b"\n".join(raw_blobs(s.agent.profile.paths.database))


async def test_signing_out_with_wipe_forgets_records_audit_and_the_data_key(s: Synced) -> None:
    key = stored_key(s.data_dir)
    assert key is not None
    await s.agent.sign_out(wipe_local_data=True)
    cached = s.agent.store.read(lambda: CachedEntity.select().count())
    events = s.agent.store.read(lambda: AuditEvent.select().count())
    assert (cached, events) == (0, 0)
    assert stored_key(s.data_dir) not in (None, key)
    assert s.agent.engine is None


async def test_signing_out_without_wipe_keeps_the_records(s: Synced) -> None:
    key = stored_key(s.data_dir)
    await s.agent.sign_out()
    assert s.agent.store.read(lambda: CachedEntity.select().count()) > 0
    assert stored_key(s.data_dir) == key


async def test_switching_encryption_decrypts_and_reencrypts_the_stored_values(s: Synced) -> None:
    assert s.title.encode() not in _raw(s)
    state = await s.agent.set_encryption(False, store_in_clear=True)
    at_rest = s.agent.profile.at_rest
    assert at_rest is not None and not at_rest.enabled and not state.encrypted
    assert s.title.encode() in _raw(s)
    assert not s.agent.encryption.encrypted
    state = await s.agent.set_encryption(True)
    assert state.encrypted and s.title.encode() not in _raw(s)
    assert [t.id for t in await s.agent.my_tickets()]


async def test_rotating_the_data_key_replaces_it_and_keeps_everything_readable(s: Synced) -> None:
    key = stored_key(s.data_dir)
    before = [(t.id, t.title) for t in await s.agent.my_tickets()]
    assert await s.agent.rotate_data_key() > 0
    assert stored_key(s.data_dir) not in (None, key)
    assert [(t.id, t.title) for t in await s.agent.my_tickets()] == before
    assert (await s.agent.verify_audit()).ok


async def test_rotating_with_encryption_off_is_refused(s: Synced) -> None:
    from agent.security.errors import SecurityError

    await s.agent.set_encryption(False, store_in_clear=True)
    with pytest.raises(SecurityError, match="off"):
        await s.agent.rotate_data_key()


async def test_opening_with_a_plain_http_server_address_is_refused(tmp_path: Path) -> None:
    clock = FakeClock()
    sim = Simulator(seed="wiring", tickets=2, clock=clock)
    opts = dataclasses.replace(options(sim, clock, tmp_path), directory_url=PLAIN_HOST)
    opts.transport = None
    with pytest.raises(InsecureUrlError, match="https"):
        await Agent.open(opts)


async def test_signing_in_and_testing_against_plain_http_fail_before_any_request(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="wiring", tickets=2, clock=clock)
    opts = dataclasses.replace(
        options(sim, clock, tmp_path),
        directory_url=PLAIN_HOST,
        transport=None,
        credentials=None,
        technician_resource_id=None,
    )
    agent = await Agent.open(opts)
    try:
        result = await agent.sign_in("u@example.org", "secret", "CODE", "u@example.org")
        assert not result.ok and "https" in result.message
        tested = await Agent.test_connection("u", "s", "c", directory_url=PLAIN_HOST)
        assert not tested.ok and "https" in tested.message
    finally:
        await agent.close()


async def test_testing_plain_http_on_this_computer_is_allowed() -> None:
    # Port 1 on loopback refuses at once: the address passed the check and a request was made.
    tested = await Agent.test_connection("u", "s", "c", directory_url="http://127.0.0.1:1/")
    assert not tested.ok and "https" not in tested.message


async def test_retention_runs_at_open_and_again_a_day_later(tmp_path: Path) -> None:
    clock = FakeClock()
    now = clock.now().timestamp()
    profile = open_profile(tmp_path, "default")

    def old_point(at: float) -> None:
        MetricSample.create(series="old", resolution=10, at=at, value=1.0)

    profile.store.write(lambda: old_point(now - 40 * DAY))
    profile.close()
    sim = Simulator(seed="wiring", tickets=2, clock=clock)
    sim.limits.latency_enabled = False
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:

        def old_points() -> int:
            return int(
                agent.store.read(
                    lambda: MetricSample.select().where(MetricSample.series == "old").count()
                )
            )

        assert old_points() == 0
        agent.store.write(lambda: old_point(now - 40 * DAY))
        await agent.sync_now()
        assert agent._retention_task is None and old_points() == 1
        clock.advance(DAY + 1)
        await agent.sync_now()
        assert agent._retention_task is not None
        report = await agent._retention_task
        assert report is not None and report.metric_points == 1 and old_points() == 0
    finally:
        await agent.close()


async def test_audit_search_finds_text_held_in_sealed_values(s: Synced) -> None:
    ticket = (await s.agent.my_tickets())[0]
    await s.agent.update_ticket(ticket.id, title="Fan bearing REPLACED-7731")
    assert b"REPLACED-7731" not in _raw(s)
    found = await s.agent.audit_events(text="replaced-7731")
    assert found and all("REPLACED-7731" in str(e.detail) for e in found)
    assert await s.agent.audit_events(text="nothing-like-this-9090") == []
