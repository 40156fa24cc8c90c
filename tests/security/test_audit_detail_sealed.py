"""The server's error messages, which repeat the values they refuse, are kept in an audit event's
sealed values, never in its clear detail: the database files hold no trace of them, while every
reader (the detail as appended, the export, the window's audit list) still shows them."""

from __future__ import annotations

import json
from pathlib import Path

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.e2e.conftest import options

SECRET_TITLE = "Vault combination 4417-ZULU written on the rack door"


def _database_bytes(agent: Agent) -> bytes:
    """Every byte of the database and its WAL, as a thief would copy them."""
    database = agent.profile.paths.database
    files = [database, database.with_name(database.name + "-wal")]
    return b"".join(p.read_bytes() for p in files if p.is_file())


async def test_a_server_error_quoting_a_value_leaves_no_clear_trace_in_the_database(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="sealed-detail", tickets=10, clock=clock)
    sim.limits.latency_enabled = False
    agent = await Agent.open(options(sim, clock, tmp_path / "data"))
    try:
        assert (await agent.sync_now()).error is None  # type: ignore[union-attr]
        ticket = (await agent.my_tickets())[0]
        refusal = f"Title '{SECRET_TITLE}' contains a word that is not allowed"
        sim.faults.error(status=500, route="tickets*", verb="PATCH", message=refusal)
        await agent.update_ticket(ticket.id, title=SECRET_TITLE)
        await agent.sync_now()
        failed = [e for e in await agent.audit_events(action="failed")]
        assert failed and SECRET_TITLE in json.dumps(failed[0].detail)  # readers see it
        exported = tmp_path / "audit.json"
        await agent.export_audit(exported, "json")
        assert SECRET_TITLE in exported.read_text()

        # The whole file: the audit trail and the outbox's own copies (`last_error`, `reason`).
        agent.store.vacuum()
        in_clear = SECRET_TITLE.encode() in _database_bytes(agent)
        assert not in_clear, "the server's message is readable in the database files"
    finally:
        await agent.close()
