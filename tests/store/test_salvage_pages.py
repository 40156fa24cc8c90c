"""Salvage reads past damaged leaf pages: exactly the rows on them are lost, and counted.

The damage keeps each page's 8-byte header (still a table leaf to SQLite) and writes random bytes
over its cell pointers and cells, so a scan meets cells with made-up rowids before it fails."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.store.salvage_template import server_notes, world_with_unsent_notes
from tests.store.salvage_world import NOTES, leaf_rowids


def scribble_cells(path: Path, pages: list[int], seed: int = 7) -> None:
    with closing(sqlite3.connect(path)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(path.read_bytes())
    rnd = random.Random(seed)
    for pageno in pages:
        start = (pageno - 1) * size + 8
        raw[start : start + size - 96] = rnd.randbytes(size - 96)
    path.write_bytes(bytes(raw))


def _spread(pages: list[int], count: int) -> list[int]:
    """`count` pages spread over the middle of the list (not the first or the last)."""
    inner = sorted(pages)[1:-1]
    step = max(1, len(inner) // count)
    return inner[::step][:count]


async def test_rows_after_damaged_outbox_and_audit_pages_all_come_back(tmp_path: Path) -> None:
    world, ops = await world_with_unsent_notes(tmp_path)
    with closing(sqlite3.connect(world.database)) as conn:
        events = conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]
    outbox = leaf_rowids(world.database, "outbox_op")
    trail = leaf_rowids(world.database, "audit_event")
    assert len(outbox) >= 6 and len(trail) >= 5, "both tables span several pages"
    hit_outbox, hit_trail = _spread(list(outbox), 3), _spread(list(trail), 2)
    lost = {rowid for page in hit_outbox for rowid in outbox[page]}
    lost_events = sum(len(trail[page]) for page in hit_trail)
    assert len(hit_outbox) == 3 and lost < set(ops)
    scribble_cells(world.database, hit_outbox + hit_trail)

    agent = await world.open()
    try:
        notice = agent.profile.recovery
        assert notice is not None and notice.salvage is not None
        salvage = notice.salvage
        assert (salvage.operations.recovered, salvage.operations.unreadable) == (
            NOTES - len(lost),
            len(lost),
        )
        assert (salvage.audit_events.recovered, salvage.audit_events.unreadable) == (
            events - lost_events,
            lost_events,
        )
        assert (await agent.verify_audit()).ok
        await agent.sync_now()
        await agent.sync_now()
        on_server = server_notes(world)
        for op_id, n in ops.items():
            assert on_server(n) == (0 if op_id in lost else 1), (op_id, n)
        assert (await agent.status()).pending == 0
    finally:
        await agent.close()
