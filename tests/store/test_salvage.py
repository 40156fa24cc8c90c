"""A damaged database's unsent work is salvaged into the new one, sent once, and reported."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from tests.store.salvage_template import server_notes, small_world, world_with_unsent_notes
from tests.store.salvage_world import (
    NOTES,
    capture_notes,
    leaf_rowids,
    scribble,
    value_span,
)


def _blobs(path: Path) -> dict[int, bytes]:
    """The stored `fields` of every unsent operation, as bytes on disk."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT id, fields FROM outbox_op WHERE state <> 'done'").fetchall()
    return {int(i): bytes(b) for i, b in rows}


async def test_random_bytes_over_outbox_pages_lose_only_those_rows(tmp_path: Path) -> None:
    world, ops = await world_with_unsent_notes(tmp_path)
    leaves = leaf_rowids(world.database, "outbox_op")
    assert len(leaves) >= 4, "the outbox spans several pages"
    hit = sorted(leaves)[1:3]  # two pages in the middle of the outbox, not the first or last
    lost = {rowid for page in hit for rowid in leaves[page]}
    assert lost and lost < set(ops)
    scribble(world.database, hit)

    agent = await world.open()
    try:
        notice = agent.profile.recovery
        assert notice is not None and notice.salvage is not None
        salvage = notice.salvage
        assert salvage.operations.recovered == NOTES - len(lost)
        assert salvage.operations.unreadable == len(lost)
        assert f"{NOTES - len(lost)} unsent changes recovered, {len(lost)} unreadable" in (
            notice.message
        )
        assert (await agent.status()).pending == NOTES - len(lost)
        assert (await agent.verify_audit()).ok
        await agent.sync_now()
        await agent.sync_now()
        on_server = server_notes(world)
        for op_id, n in ops.items():
            assert on_server(n) == (0 if op_id in lost else 1), (op_id, n)
        assert (await agent.status()).pending == 0
        assert (await agent.verify_audit()).ok
    finally:
        await agent.close()


async def test_a_truncated_file_gives_back_every_row_before_the_cut(tmp_path: Path) -> None:
    world, ops = await world_with_unsent_notes(tmp_path)
    leaves = leaf_rowids(world.database, "outbox_op")
    cut = sorted(leaves)[-2]  # the file ends before the outbox's last two leaf pages
    with closing(sqlite3.connect(world.database)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        inner = [
            r[0]
            for r in conn.execute(
                "SELECT pageno FROM dbstat WHERE name='outbox_op' AND pagetype='internal'"
            )
        ]
    assert all(p < cut for p in inner), "the outbox's inner pages survive the cut"
    lost = {rowid for page, rowids in leaves.items() if page >= cut for rowid in rowids}
    assert lost and lost < set(ops)
    raw = world.database.read_bytes()
    world.database.write_bytes(raw[: (cut - 1) * size])

    agent = await world.open()
    try:
        salvage = agent.profile.recovery.salvage
        assert salvage.operations.recovered == NOTES - len(lost)
        assert salvage.operations.recovered + salvage.operations.unreadable <= NOTES
        assert (await agent.verify_audit()).ok
        await agent.sync_now()
        await agent.sync_now()
        on_server = server_notes(world)
        sent = {op_id for op_id, n in ops.items() if on_server(n) == 1}
        assert sent == set(ops) - lost
        assert all(on_server(n) <= 1 for n in ops.values())
    finally:
        await agent.close()


async def test_a_file_whose_header_is_gone_gives_back_everything(tmp_path: Path) -> None:
    world = small_world(tmp_path)
    agent = await world.open()
    try:
        assert (await agent.sync_now()).error is None
        tickets = await agent.my_tickets()
        tid = tickets[0].id
        prios = sorted((await agent.picklists("Tickets"))["priority"])
        base = world.sim.dump()["Tickets"][tid]["priority"]
        mine, theirs = [p for p in prios if p != base][:2]
        await agent.update_ticket(tid, priority=mine)
        world.sim.edit_ticket(tid, priority=theirs)
        await agent.sync_now()
        conflicts = await agent.conflicts()
        assert len(conflicts) == 1
        other = tickets[1].id
        await agent.update_ticket(other, title="Salvaged title")
        ops = await capture_notes(agent, 10)
        events = len(await agent.audit_events())
    finally:
        await agent.close()
    stored = _blobs(world.database)
    with closing(sqlite3.connect(world.database)) as conn:
        overlays = conn.execute(
            "SELECT entity_type, entity_key, field, value, op_id FROM overlay_value ORDER BY id"
        ).fetchall()
    assert any(field == "title" for _, _, field, _, _ in overlays)
    assert all(blob[0] == 1 for blob in stored.values()), "sealed at rest"
    raw = bytearray(world.database.read_bytes())
    raw[:100] = bytes(100)
    world.database.write_bytes(bytes(raw))

    agent = await world.open()
    try:
        salvage = agent.profile.recovery.salvage
        assert (salvage.operations.recovered, salvage.operations.unreadable) == (12, 0)
        assert _blobs(world.database) == stored  # copied as stored: same key, same ciphertext
        assert (salvage.conflicts.recovered, salvage.conflicts.unreadable) == (1, 0)
        assert (salvage.audit_events.recovered, salvage.audit_events.unreadable) == (events, 0)
        assert [(c.field, c.mine, c.theirs) for c in await agent.conflicts()] == [
            ("priority", mine, theirs)
        ]
        assert (salvage.overlays.recovered, salvage.overlays.unreadable) == (len(overlays), 0)
        with closing(sqlite3.connect(world.database)) as conn:
            assert (
                conn.execute(
                    "SELECT entity_type, entity_key, field, value, op_id FROM overlay_value "
                    "ORDER BY id"
                ).fetchall()
                == overlays
            )
        report = await agent.verify_audit()
        assert report.ok and report.checked == events + 1
        recorded = await agent.audit_events(action="database_salvaged")
        assert recorded[0].detail["operations"] == {"recovered": 12, "unreadable": 0}
        await agent.resolve_conflict(conflicts[0].id, "mine")
        await agent.sync_now()
        await agent.sync_now()
        assert world.sim.dump()["Tickets"][tid]["priority"] == mine
        assert world.sim.dump()["Tickets"][other]["title"] == "Salvaged title"
        on_server = server_notes(world)
        assert all(on_server(n) == 1 for n in ops.values())
        assert (await agent.status()).pending == 0
    finally:
        await agent.close()


async def test_an_operation_that_may_have_been_sent_is_looked_up_not_sent_again(
    tmp_path: Path,
) -> None:
    world = small_world(tmp_path)
    agent = await world.open()
    try:
        assert (await agent.sync_now()).error is None
        ops = await capture_notes(agent, 3)
        in_flight = sorted(ops)[:2]
        for op_id in in_flight:  # the requests went out (and landed); then the machine stopped
            op = agent.outbox.get(op_id)
            await agent.client.create(op.entity_type, op.fields, parent_id=op.parent_id)
    finally:
        await agent.close()
    with closing(sqlite3.connect(world.database)) as conn, conn:
        for op_id, sent_marked in zip(in_flight, (1, 0), strict=True):
            conn.execute(
                "UPDATE outbox_op SET state='leased', lease_owner='crashed', "
                "lease_expires_at=9e12, attempts=1, outcome_unknown=? WHERE id=?",
                (sent_marked, op_id),
            )
    on_server = server_notes(world)
    assert all(on_server(ops[i]) == 1 for i in in_flight)
    raw = bytearray(world.database.read_bytes())
    raw[:100] = bytes(100)
    world.database.write_bytes(bytes(raw))

    agent = await world.open()
    try:
        salvage = agent.profile.recovery.salvage
        assert (salvage.operations.recovered, salvage.outcome_unknown) == (3, 2)
        await agent.sync_now()
        await agent.sync_now()
        on_server = server_notes(world)
        for n in ops.values():
            assert on_server(n) == 1, n
        assert (await agent.status()).pending == 0
    finally:
        await agent.close()


async def test_a_sealed_value_changed_inside_a_readable_row_is_not_copied(tmp_path: Path) -> None:
    """Random bytes inside three rows' sealed payloads: SQLite still reads the page, the
    integrity check with the profile's data key tells those rows apart."""
    world, ops = await world_with_unsent_notes(tmp_path, 40)
    leaves = leaf_rowids(world.database, "outbox_op")
    damaged = leaves[sorted(leaves)[1]][:3]
    raw = bytearray(world.database.read_bytes())
    for rowid in damaged:
        at, length = value_span(world.database, "outbox_op", "fields", rowid)
        assert length > 40
        middle = at + length // 2
        raw[middle : middle + 8] = bytes(b ^ 0x5A for b in raw[middle : middle + 8])
    raw[:100] = bytes(100)  # and the header is gone, so the file is found damaged on opening
    world.database.write_bytes(bytes(raw))

    agent = await world.open()
    try:
        salvage = agent.profile.recovery.salvage
        assert (salvage.operations.recovered, salvage.operations.unreadable) == (37, 3)
        await agent.sync_now()
        await agent.sync_now()
        on_server = server_notes(world)
        for op_id, n in ops.items():
            assert on_server(n) == (0 if op_id in damaged else 1), (op_id, n)
        assert (await agent.status()).pending == 0
        assert (await agent.verify_audit()).ok
    finally:
        await agent.close()


async def test_work_still_in_the_write_ahead_log_is_salvaged_too(tmp_path: Path) -> None:
    """The program stopped without closing (its last changes only in the -wal), and the main
    file's header is gone: the copy gets a header that lets SQLite replay the WAL."""
    world = small_world(tmp_path)
    agent = await world.open()
    wal = world.database.with_name("agent.sqlite3-wal")
    try:
        assert (await agent.sync_now()).error is None
        ops = await capture_notes(agent, 30)
        assert wal.stat().st_size > 0
        main_file, log_file = world.database.read_bytes(), wal.read_bytes()
    finally:
        await agent.close()
    world.database.write_bytes(bytes(100) + main_file[100:])  # the header is gone
    wal.write_bytes(log_file)

    agent = await world.open()
    try:
        salvage = agent.profile.recovery.salvage
        assert (salvage.operations.recovered, salvage.operations.unreadable) == (30, 0)
        await agent.sync_now()
        on_server = server_notes(world)
        assert all(on_server(n) == 1 for n in ops.values())
        assert (await agent.verify_audit()).ok
    finally:
        await agent.close()


async def test_done_operations_come_over_as_history_and_keep_their_ids(tmp_path: Path) -> None:
    world = small_world(tmp_path)
    agent = await world.open()
    try:
        assert (await agent.sync_now()).error is None
        first = await capture_notes(agent, 5)
        await agent.sync_now()
        on_server = server_notes(world)
        assert all(on_server(n) == 1 for n in first.values())
    finally:
        await agent.close()
    with closing(sqlite3.connect(world.database)) as conn:
        before = conn.execute("SELECT id, state FROM outbox_op ORDER BY id").fetchall()
    assert {s for _, s in before} == {"done"}
    raw = bytearray(world.database.read_bytes())
    raw[:100] = bytes(100)
    world.database.write_bytes(bytes(raw))

    agent = await world.open()
    try:
        assert agent.profile.recovery.salvage.operations.recovered == 0
        with closing(sqlite3.connect(world.database)) as conn:
            after = conn.execute("SELECT id, state FROM outbox_op ORDER BY id").fetchall()
        assert after == before
        await agent.sync_now()  # downloads the cache again; nothing old is sent
        tickets = [t.id for t in await agent.my_tickets()]
        lists = await agent.picklists("TicketNotes")
        new = await agent.add_note(
            tickets[0],
            "after the salvage",
            note_type=min(lists["noteType"]),
            publish=min(lists["publish"]),
        )
        assert new.op_id is not None and new.op_id > max(i for i, _ in before)
        await agent.sync_now()
        on_server = server_notes(world)
        assert all(on_server(n) == 1 for n in first.values())
        notes = world.sim.dump()["TicketNotes"].values()
        assert sum(1 for v in notes if v["description"] == "after the salvage") == 1
    finally:
        await agent.close()


async def test_a_damaged_root_page_is_reported_not_hidden(tmp_path: Path) -> None:
    """With the outbox's root page gone no row of it can be reached; its surviving index still
    says how many unsent changes there were, so the report says they could not be read."""
    world, _ = await world_with_unsent_notes(tmp_path, 60)
    with closing(sqlite3.connect(world.database)) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name='outbox_op'").fetchone()[
            0
        ]
    scribble(world.database, [root])
    agent = await world.open()
    try:
        salvage = agent.profile.recovery.salvage
        assert (salvage.operations.recovered, salvage.operations.unreadable) == (0, 60)
        assert "0 unsent changes recovered, 60 unreadable" in agent.recovery.message
        assert (await agent.verify_audit()).ok
    finally:
        await agent.close()


async def test_a_file_beyond_reading_is_said_so_and_the_agent_still_starts(
    tmp_path: Path,
) -> None:
    world, _ = await world_with_unsent_notes(tmp_path, 10)
    scribble(world.database, [1])  # the header and the schema with it
    agent = await world.open()
    try:
        salvage = agent.profile.recovery.salvage
        assert salvage.failed and salvage.operations.recovered == 0
        assert "Nothing could be recovered" in agent.recovery.message
        recorded = await agent.audit_events(action="database_salvaged")
        assert recorded[0].detail["failed"] == salvage.failed
        assert (await agent.verify_audit()).ok
        assert (await agent.status()).pending == 0
    finally:
        await agent.close()
