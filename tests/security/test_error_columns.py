"""An operation's `last_error` and `reason` hold the server's own words, which often quote the
value refused: they are sealed like the payloads, and every reader still shows them."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agent.api.facade import Agent
from agent.canonical import loads
from agent.clock import FakeClock
from agent.profile import Profile, open_profile
from agent.queue import SQLiteBackend
from agent.queue.operation import NewOperation
from agent.security.at_rest import scan
from agent.store import Store
from agent.store.models import OpKind
from agent.store.salvage_rows import upgrade, valid_row
from tests.e2e.conftest import open_world
from tests.security.helpers import raw_bytes

QUOTED = "Vault door combination 7-7-3-9 is not a valid title"
REASON = "Refused: the note 'Gate code 99812 for the loading bay' is a duplicate"


def _database_files(profile: Profile) -> list[Path]:
    db = profile.paths.database
    return [db, db.with_name(db.name + "-wal")]


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = open_profile(tmp_path, "default")
    yield p
    p.close()


def _update(target: int, text: str) -> NewOperation:
    return NewOperation(
        OpKind.UPDATE, "Tickets", target_id=target, fields={"title": text}, base={"title": "x"}
    )


def test_errors_and_reasons_quoting_a_value_never_reach_the_file_in_clear(
    profile: Profile,
) -> None:
    clock = FakeClock()
    outbox = SQLiteBackend(profile.store, clock, audit=False)
    first, second = outbox.enqueue_many([_update(1, "a"), _update(2, "b")])
    outbox.claim("w", 60)
    outbox.release(first.id, clock.now().timestamp() + 60, f"Autotask said: {QUOTED}", "validation")
    outbox.park(second.id, REASON, error=f"Autotask said: {QUOTED}", category="validation")
    profile.store.checkpoint()
    raw = raw_bytes(_database_files(profile))
    assert QUOTED.encode() not in raw
    assert b"Gate code 99812" not in raw
    # Readers see the words as they were written.
    assert outbox.get(first.id).last_error == f"Autotask said: {QUOTED}"  # type: ignore[union-attr]
    parked = outbox.get(second.id)
    assert parked is not None and parked.reason == REASON
    assert parked.last_error == f"Autotask said: {QUOTED}"
    assert scan(profile.store).plain_rows == 0


def test_error_texts_written_before_sealing_are_sealed_at_open(tmp_path: Path) -> None:
    """A database whose schema kept the error columns as clear text: the texts are converted
    and sealed when the profile opens, and read back the same."""
    profile = open_profile(tmp_path, "default")
    outbox = SQLiteBackend(profile.store, FakeClock(), audit=False)
    op = outbox.enqueue(_update(3, "c"))
    database = profile.paths.database
    profile.close()
    conn = sqlite3.connect(database)
    try:  # as the previous schema stored them: TEXT columns in clear
        conn.execute('ALTER TABLE outbox_op DROP COLUMN "last_error"')
        conn.execute('ALTER TABLE outbox_op DROP COLUMN "reason"')
        conn.execute('ALTER TABLE outbox_op ADD COLUMN "last_error" TEXT')
        conn.execute('ALTER TABLE outbox_op ADD COLUMN "reason" TEXT')
        conn.execute(
            "UPDATE outbox_op SET last_error = ?, reason = ? WHERE id = ?", (QUOTED, REASON, op.id)
        )
        conn.execute("DELETE FROM schema_migration WHERE version > 8")
        conn.commit()
    finally:
        conn.close()
    profile = open_profile(tmp_path, "default")
    try:
        profile.store.checkpoint()
        raw = raw_bytes(_database_files(profile))
        assert QUOTED.encode() not in raw and b"Gate code 99812" not in raw
        got = SQLiteBackend(profile.store, FakeClock()).get(op.id)
        assert got is not None and (got.last_error, got.reason) == (QUOTED, REASON)
    finally:
        profile.close()


def test_a_salvage_from_an_older_file_takes_its_clear_error_texts_as_payloads() -> None:
    row = {"id": 3, "state": "parked", "last_error": QUOTED, "reason": REASON}
    assert not valid_row("outbox_op", dict(row))  # text where a payload belongs
    upgraded = upgrade("outbox_op", dict(row))
    assert valid_row("outbox_op", upgraded)
    assert (loads(upgraded["last_error"]), loads(upgraded["reason"])) == (QUOTED, REASON)


def test_error_columns_read_back_without_encryption(tmp_path: Path) -> None:
    """A store without a sealing codec keeps them as plain payloads, read back as text."""
    with Store(tmp_path / "plain.sqlite3") as store:
        clock = FakeClock()
        outbox = SQLiteBackend(store, clock)
        op = outbox.enqueue(_update(4, "d"))
        outbox.claim("w", 60)
        outbox.park(op.id, REASON, error=QUOTED, category="validation")
        got = outbox.get(op.id)
        assert got is not None and (got.last_error, got.reason) == (QUOTED, REASON)
        assert [e.action for e in outbox.history(op.id)][-1] == "parked"


@pytest.fixture
async def refused(tmp_path: Path) -> AsyncIterator[tuple[Agent, Path]]:
    """A profile whose edit Autotask refused with a message quoting the title sent."""
    async with open_world(tmp_path, "refused", 10) as world:
        agent = world.agent
        report = await agent.sync_now()
        assert report is not None and report.error is None
        ticket = (await agent.my_tickets())[0].id
        world.sim.faults.error(
            500, route="tickets*", verb="PATCH", message=f"Title '{QUOTED}' refused"
        )
        await agent.update_ticket(ticket, title=QUOTED)
        await agent.sync_now()
        yield agent, tmp_path


async def test_a_refusal_quoting_the_value_is_sealed_and_still_shown(
    refused: tuple[Agent, Path],
) -> None:
    agent, folder = refused
    page = await agent.queue_page()
    shown = [i.last_error for i in page.items if i.last_error]
    assert any(QUOTED in text for text in shown), shown
    exported = folder / "queue.csv"
    await agent.export_queue(exported)
    with exported.open(encoding="utf-8") as fh:
        assert any(QUOTED in row["last_error"] for row in csv.DictReader(fh))
    agent.profile.store.checkpoint()
    conn = sqlite3.connect(agent.profile.paths.database)
    try:
        rows = conn.execute("SELECT * FROM outbox_op").fetchall()
    finally:
        conn.close()
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for r in rows for v in r)
    assert rows and QUOTED.encode() not in stored
