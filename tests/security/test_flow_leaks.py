"""After a realistic run (sign in through the keyring, sync, edit, conflict, resolve), neither the
ticket texts nor the credentials can be read from the files the agent leaves on disk."""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agent.api.facade import Agent, AgentOptions
from agent.clock import FakeClock
from agent.monitor.diagnostics import build_diagnostics
from agent.simulator import Simulator

BASE = "http://sim.test"
USERNAME = "leak-check-tech@example-msp.com"
SECRET = "Sup3r-Secret-Value-7731-qzx"
CODE = "LEAKCHECKINTEGRATIONCODE42"
NEW_TITLE = "Quarterly patching left server SRV-ZEBRA unbootable"
NEW_DESCRIPTION = "Bootloader overwritten by vendor tool; restored from the vault tape"
NOTE_TEXT = "Technician note: replaced the cracked fibre patch lead in cabinet K7"
NOTE_TITLE = "Fibre fault located"
CHOSEN = "Resolution wording typed by hand in the conflict dialog"


async def _online() -> bool:
    return True


@dataclass
class Run:
    sim: Simulator
    agent: Agent
    data_dir: Path
    server_texts: list[str]


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[Run]:
    clock = FakeClock()
    sim = Simulator(seed="leaks", tickets=40, clock=clock)
    sim.limits.latency_enabled = False
    me = sim.technician_resource_id
    sim.tenant.add_user(USERNAME, SECRET, me)
    sim.tenant.integration_codes.add(CODE)
    agent = await Agent.open(
        AgentOptions(
            data_dir=tmp_path,
            directory_url=BASE + "/ATServicesRest/",
            transport=httpx.ASGITransport(app=sim.app),
            clock=clock,
            probe=_online,
            sample_metrics=False,
        )
    )
    try:
        email = sim.tenant.records["Resources"][me]["email"]
        result = await agent.sign_in(USERNAME, SECRET, CODE, email)
        assert result.ok, result
        report = await agent.sync_now()
        assert report is not None and report.error is None
        ids = [t.id for t in await agent.my_tickets()]
        server = sim.dump()["Tickets"]
        texts = [server[i]["title"] for i in ids[:5]]
        await agent.update_ticket(ids[0], title=NEW_TITLE, description=NEW_DESCRIPTION)
        lists = await agent.picklists("TicketNotes")
        await agent.add_note(
            ids[0],
            NOTE_TEXT,
            title=NOTE_TITLE,
            note_type=min(lists["noteType"]),
            publish=min(lists["publish"]),
        )
        await agent.update_ticket(ids[1], title="Mine: " + NEW_TITLE)
        sim.edit_ticket(ids[1], title="Theirs: " + NEW_TITLE)
        await agent.sync_now()
        conflicts = await agent.conflicts()
        assert conflicts, "the flow must produce a conflict"
        await agent.resolve_conflict(conflicts[0].id, "value", CHOSEN)
        await agent.sync_now()
        assert sim.dump()["Tickets"][ids[1]]["title"] == CHOSEN
        yield Run(sim, agent, tmp_path, texts)
    finally:
        await agent.close()


def _database_files(data_dir: Path) -> list[Path]:
    folder = data_dir / "profiles" / "default"
    return [p for p in folder.iterdir() if p.name.startswith("agent.sqlite3")]


async def test_no_ticket_text_is_readable_in_the_payload_columns(run: Run) -> None:
    from tests.security.helpers import raw_blobs

    blobs = b"\n".join(raw_blobs(run.data_dir / "profiles" / "default" / "agent.sqlite3"))
    for text in [NEW_TITLE, NEW_DESCRIPTION, NOTE_TEXT, CHOSEN, *run.server_texts]:
        assert text.encode() not in blobs, text


async def test_no_ticket_text_is_readable_anywhere_in_the_database_files(run: Run) -> None:
    files = _database_files(run.data_dir)
    assert any(p.name.endswith("-wal") for p in files)
    raw = b"".join(p.read_bytes() for p in files)
    leaked = [
        t
        for t in [NEW_TITLE, NEW_DESCRIPTION, NOTE_TEXT, CHOSEN, *run.server_texts]
        if t.encode() in raw
    ]
    assert leaked == []


async def test_no_secret_is_in_any_file_the_diagnostics_or_an_error(run: Run) -> None:
    agent = run.agent
    bundle = build_diagnostics(agent.profile, run.data_dir / "export")
    await agent.sign_out()  # stops the client; the files stay for inspection
    agent.profile.store.checkpoint()
    secrets = [SECRET.encode(), CODE.encode()]
    checked = 0
    for path in run.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            checked += 1
            assert not any(s in data for s in secrets), path
    with zipfile.ZipFile(bundle) as z:
        for name in z.namelist():
            data = z.read(name)
            assert not any(s in data for s in secrets), name
    assert checked >= 3
    log_text = (run.data_dir / "logs" / "default.log").read_text()
    assert "sign" in log_text.lower() or "profile default opened" in log_text


async def test_errors_from_a_refused_sign_in_do_not_quote_the_secret(run: Run) -> None:
    result = await run.agent.sign_in(USERNAME, SECRET + "-wrong", CODE, "x@example.org")
    assert not result.ok
    assert SECRET not in result.message and CODE not in result.message
    assert SECRET not in repr(result) and CODE not in repr(result)
