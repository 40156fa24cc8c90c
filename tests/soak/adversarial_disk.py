"""Adversarial soaks of the disk under the profile's database.

4. disk full during capture and during sync: `PRAGMA max_page_count` on every connection of the
   store makes the file unable to grow (SQLITE_FULL) until it is raised again. A capture the
   agent refuses is not lost (the technician was told); everything captured is sent exactly once.
   During sync the disk fills at the worst moment: while a create is on its way to the server,
   so the server has it and the agent cannot write down that it does.
5. a damaged database with unsent work: a page of the cache table in the middle of the closed
   file is overwritten; on the next open the damage is confirmed, the file is moved aside as
   `*.corrupt-<time>`, and the unsent operations must come back in the new database and sync.
"""

from __future__ import annotations

import sqlite3
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from agent.store.connection import Store
from agent.store.models import OpKind, OpState
from tests.soak.truth import Typed
from tests.soak.world import ASGIApp, World, open_agent, world

UNLIMITED = 2_147_483_646


def limit_pages(store: Store, pages: int | None) -> None:
    """Cap (or, with None, uncap) the file's size in pages on every connection of the store,
    present and future (peewee applies its pragma list to each new connection)."""
    db: Any = store.db
    db._pragmas = [p for p in db._pragmas if p[0] != "max_page_count"]
    if pages is not None:
        db._pragmas.append(("max_page_count", pages))
    with db._all_lock:
        connections = list(db._all)
    for conn in connections:
        conn.execute(f"PRAGMA max_page_count = {pages or UNLIMITED}")


def fill_disk(store: Store) -> int:
    """From now on the file cannot grow: its page count is its limit."""
    db: Any = store.db
    with db._all_lock:
        conn = db._all[0]
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    limit_pages(store, pages)
    return pages


class FillOnCreate:
    """Wraps the simulator's app: the disk fills while the first `count` creates (POSTs that
    are not queries) are on their way, after the agent marked them sent."""

    def __init__(self, app: ASGIApp, store: Store, count: int) -> None:
        self.app, self.store, self.left = app, store, count

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        path = str(scope.get("path", "")).lower()
        if self.left and scope.get("method") == "POST" and not path.endswith("/query"):
            self.left -= 1
            fill_disk(self.store)
        await self.app(scope, receive, send)


async def _try(w: World, typed: Typed, kind: str, tid: int, text: str) -> bool:
    """One capture; a refusal is recorded with what the technician was shown."""
    try:
        if kind == "note":
            await w.note(typed, tid, text)
        else:
            await w.time_entry(typed, tid, text, 1.0)
    except Exception as exc:
        typed.refused[text] = type(exc).__name__
        return False
    return True


async def disk_full(
    workdir: Path, *, before: int = 3, tries: int = 40, attempts: int = 4
) -> dict[str, Any]:
    async with world(workdir, seed="adv-disk-full") as w:
        typed = Typed()
        store = w.agent.store
        # While capturing: some edits fit, then the disk is full; the rest are refused.
        for i in range(before):
            await _try(w, typed, "note" if i % 2 else "time", w.mine[i % len(w.mine)], f"d{i}")
        await _vacuumed(w)
        fill_disk(store)
        for i in range(tries):
            kind = "note" if i % 2 else "time"
            await _try(w, typed, kind, w.mine[i % len(w.mine)], f"full capture {i}")
            if len(typed.refused) >= 3:
                break
        limit_pages(store, None)
        refused_while_capturing = len(typed.refused)
        # While syncing: the disk fills as the first creates reach the server. Whether a
        # create lands before the disk refuses its bookkeeping depends on the WAL's state, so the
        # phase is repeated (with new creates) until the window is hit, at most `attempts` times.
        sync_errors: list[str] = []
        unrecorded = 0
        for attempt in range(attempts):
            for i in range(before):
                tid = w.mine[i % len(w.mine)]
                await _try(w, typed, "note", tid, f"full sync note {attempt}.{i}")
                await _try(w, typed, "time", tid, f"full sync time {attempt}.{i}")
            await _vacuumed(w)
            app = w.inflight.app
            w.inflight.app = FillOnCreate(app, store, count=2)
            for _ in range(3):
                try:
                    await w.agent.sync_now()
                except Exception as exc:  # the round stops; the technician sees an error
                    sync_errors.append(type(exc).__name__)
                await w.server_idle()
                w.advance(60)
            w.inflight.app = app
            # The window was hit when the server holds creates the agent still has waiting (it
            # could not write down that they landed).
            unrecorded = await landed_unrecorded(w)
            if unrecorded:
                break
            limit_pages(store, None)
        limit_pages(store, None)
        await w.settle()
        result = await w.count(typed)
        result.update(
            refused_while_capturing=refused_while_capturing,
            sync_errors=sync_errors,
            landed_unrecorded=unrecorded,
        )
        return result


async def landed_unrecorded(w: World) -> int:
    """Creates on the server whose operations still wait in the outbox."""
    on_server = {
        (e, r.get("ticketID"), r.get("description") or r.get("summaryNotes"))
        for e in ("TicketNotes", "TimeEntries")
        for r in w.sim.tenant.records[e].values()
    }
    page = await w.agent.queue_page(states=[OpState.PENDING, OpState.LEASED], limit=10_000)
    found = 0
    for item in page.items:
        op = await w.agent.store.aread(lambda i=item.id: w.agent.outbox.get(i))
        if op is not None and op.kind is OpKind.CREATE:
            text = op.fields.get("description") or op.fields.get("summaryNotes")
            found += (op.entity_type, op.fields.get("ticketID"), text) in on_server
    return found


async def _vacuumed(w: World) -> None:
    """No free pages left in the file: the next growth is the one the full disk refuses."""
    await w.server_idle()
    await w.agent.store.awrite(lambda: None)  # the writer's queue is empty
    w.agent.store.vacuum()


def damage(path: Path, table: str = "cached_entity") -> int:
    """Overwrite a whole page of `table` in the middle of the (closed) file; returns its
    number. The page holds no operation, so what was unsent is all still readable."""
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        pages = [
            int(r[0])
            for r in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                (table,),
            )
        ]
    finally:
        conn.close()
    page = pages[len(pages) // 2]
    with path.open("r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(bytes([0xA5, 0x5A]) * (size // 2))
    return page


def _unsent_in(kept: Path | None) -> int | None:
    """Unsent operations still readable in the kept file (what a salvage can bring back)."""
    if kept is None:
        return None
    conn = sqlite3.connect(f"file:{kept}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT count(*) FROM outbox_op WHERE state IN ('pending', 'leased')"
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


async def damaged_database(workdir: Path, *, items: int = 3) -> dict[str, Any]:
    async with world(workdir, seed="adv-damaged", tickets=120) as w:
        typed = Typed()
        for i in range(items):
            tid = w.mine[i % len(w.mine)]
            await w.note(typed, tid, f"unsent note {i}")
            await w.time_entry(typed, tid, f"unsent time {i}", 0.5)
            title = f"unsent title {i}"
            typed.ticket(tid, "title", w.sim.tenant.records["Tickets"][tid]["title"], title)
            await w.agent.update_ticket(tid, title=title)
        path = w.agent.store.path
        await w.agent.close()
        page = damage(path)
        w.agent = await open_agent(w.sim, w.clock, w.data_dir, w.base)
        recovery = w.agent.profile.recovery
        await w.agent.sync_now()
        await w.settle()
        result = await w.count(typed)
        result.update(
            damaged_page=page,
            unsent_in_kept_file=_unsent_in(recovery.moved_to if recovery else None),
            moved_aside=recovery is not None and recovery.moved_to.exists(),
            kept_files=sorted(p.name for p in path.parent.glob(f"{path.name}.corrupt-*")),
        )
        return result
