"""Reading and writing outbox rows inside one transaction: the ledger the shared rules run on
(`agent.queue.ledger`), the rows a claim reaches, and what claims handed out, remembered.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator
from typing import Any

from agent.queue import lifecycle
from agent.queue import sqlite_rows as sql
from agent.queue.operation import Operation, entity_key
from agent.security.errors import SealedPayloadError
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import OpKind, OpState

PAGE = 256  # most rows read per page of a claim's candidate stream


def page_size(limit: int) -> int:
    """Rows per page: a little over what the claim wants (rows read but not handed out are
    read again by the next claim), within [32, PAGE]."""
    return max(32, min(PAGE, limit + limit // 4))


def dependencies(conn: sqlite3.Connection, rows: list[Any]) -> dict[int, list[int]]:
    deps: dict[int, list[int]] = {}
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for op_id, parent in conn.execute(
            sql.DEPENDS_ON.format(marks=sql.marks(len(chunk))), chunk
        ):
            deps.setdefault(op_id, []).append(parent)
    return deps


def with_dependencies(
    conn: sqlite3.Connection, rows: list[Any], *, listing: bool = False
) -> list[Operation]:
    """Operations of `rows`; a row whose stored values do not open raises `SealedPayloadError`
    naming it, or, for a `listing`, is shown as it is (`sql.unreadable_operation`)."""
    deps = dependencies(conn, rows)
    out = []
    for row in rows:
        depends_on = sorted(deps.get(row[0], []))
        try:
            out.append(sql.to_operation(row, depends_on))
        except SealedPayloadError as exc:
            if not listing:
                raise
            out.append(sql.unreadable_operation(row, exc, depends_on))
    return out


class Reached:
    """What a claim's streams met besides operations: each row's error and reason as stored
    (remembered with what the claim hands out), and rows whose stored values do not open."""

    def __init__(self) -> None:
        self.stored: dict[int, tuple[Any, Any]] = {}
        self.unreadable: list[tuple[Any, str]] = []


def decoded(conn: sqlite3.Connection, rows: list[Any], reached: Reached) -> Iterator[Operation]:
    """Rows become operations only as a claim reaches them (decoding is most of a read); a row
    whose stored values do not open is left out (`reached.unreadable`)."""
    deps = dependencies(conn, rows)
    stored = reached.stored
    for row in rows:
        try:
            op = sql.to_operation(row, sorted(deps.get(row[0], [])))
        except SealedPayloadError as exc:
            reached.unreadable.append((row, str(exc)))
            continue
        stored[row[0]] = (row[20], row[22])
        yield op


def by_ids(conn: sqlite3.Connection, ids: list[int]) -> dict[int, Operation]:
    rows: list[Any] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows += conn.execute(sql.BY_IDS.format(marks=sql.marks(len(chunk))), chunk).fetchall()
    return {op.id: op for op in with_dependencies(conn, rows)}


# Per store, what claims handed out, by id (see `by_ids_remembered`); touched only inside
# writes (one writer at a time), shared by every backend on the store, and forgotten whenever a
# row is saved through a ledger.
Remembered = tuple[Operation, tuple[Any, ...]]  # the operation, and its row without payloads
LEASED: weakref.WeakKeyDictionary[Store, dict[int, Remembered]] = weakref.WeakKeyDictionary()


def by_ids_remembered(
    conn: sqlite3.Connection, ids: list[int], leased: dict[int, Remembered]
) -> dict[int, Operation]:
    """`by_ids`, taking an operation from `leased` (what this backend's claims handed out)
    instead of decoding its payloads again when every other column still matches the row: a
    leased operation's payloads never change (nothing merges into an operation in flight, and
    ids are rewritten only in operations still waiting for their parent's create)."""
    found: dict[int, Operation] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in conn.execute(sql.SCALARS_BY_IDS.format(marks=sql.marks(len(chunk))), chunk):
            remembered = leased.get(row[0])
            if remembered is not None and remembered[1] == row:
                found[row[0]] = remembered[0]
    missing = [op_id for op_id in ids if op_id not in found]
    if missing:
        found.update(by_ids(conn, missing))
    if len(found) > len(missing):  # dependencies are read from their table, never remembered
        deps = dependencies(conn, [(op_id,) for op_id in ids if op_id not in missing])
        for op_id in ids:
            depends_on = sorted(deps.get(op_id, []))
            if op_id not in missing and found[op_id].depends_on != depends_on:
                found[op_id] = found[op_id].evolve(depends_on=depends_on)
    return found


def acknowledge_remembered(
    conn: sqlite3.Connection,
    items: list[tuple[int, int | None]],
    leased: dict[int, Remembered],
    now: float,
) -> list[Operation] | None:
    """Acknowledge operations a claim handed out, each by one UPDATE that applies only while
    its row still holds every value remembered for it (the row count tells staleness, with no
    read before), and while its dependencies are those remembered. None, with nothing
    written, when one is not remembered or its row changed since: then `by_ids_remembered`
    reads what is stored and the shared rules decide (as for a create given its server id:
    its dependents are rewritten)."""
    ids = [op_id for op_id, _ in items]
    remembered = [leased.get(op_id) for op_id in ids]
    if any(r is None for r in remembered):
        return None
    ops = [r[0] for r in remembered]  # type: ignore[index]
    if any(
        op.kind is OpKind.CREATE and server_id is not None
        for op, (_, server_id) in zip(ops, items, strict=True)
    ):
        return None
    deps = dependencies(conn, [(op_id,) for op_id in ids])
    if any(sorted(deps.get(op.id, [])) != op.depends_on for op in ops):
        return None
    conn.execute("SAVEPOINT acknowledge_remembered")
    try:
        changed = conn.executemany(
            sql.ACKNOWLEDGE_UNCHANGED,
            [(now, *r[1]) for r in remembered],  # type: ignore[index]
        ).rowcount
        if changed != len(ids):  # some row changed since its claim: undo, and read them all
            conn.execute("ROLLBACK TO acknowledge_remembered")
            return None
    finally:
        conn.execute("RELEASE acknowledge_remembered")
    for op_id in ids:
        leased.pop(op_id, None)
    return [lifecycle.done_version(op, op.target_id, now) for op in ops]


class SqliteLedger:
    def __init__(
        self,
        conn: sqlite3.Connection,
        now: float,
        audited: bool,
        leased: dict[int, Remembered] | None = None,
    ) -> None:
        self.conn = conn
        self.now = now
        self.audited = audited
        self.leased = leased if leased is not None else {}

    def _one(self, statement: str, params: tuple[Any, ...]) -> Operation | None:
        row = self.conn.execute(statement, params).fetchone()
        return None if row is None else with_dependencies(self.conn, [row])[0]

    def get(self, op_id: int) -> Operation | None:
        return self._one(sql.BY_ID, (op_id,))

    def live_by_fingerprint(self, fingerprint: str) -> Operation | None:
        return self._one(sql.LIVE_BY_FINGERPRINT, (fingerprint,))

    def newest_live_on_entity(self, entity_type: str, key: str) -> Operation | None:
        if key.startswith("~"):
            return self._one(sql.NEWEST_LIVE_ON_TEMP, (key[1:], entity_type))
        return self._one(sql.NEWEST_LIVE_ON_TARGET, (entity_type, int(key)))

    def create_for_temp(self, temp_id: str) -> Operation | None:
        return self._one(sql.CREATE_FOR_TEMP, (temp_id,))

    def dependents(self, op_id: int) -> list[Operation]:
        return with_dependencies(self.conn, self.conn.execute(sql.DEPENDENTS, (op_id,)).fetchall())

    def background_live_count(self, at_most: int) -> int:
        return int(self.conn.execute(sql.BACKGROUND_LIVE, (at_most,)).fetchone()[0])

    def insert(self, op: Operation) -> Operation:
        op_id = sql.next_id(self.conn)  # its payloads are sealed for their row before it exists
        self.conn.execute(sql.INSERT, (op_id, *sql.values(op, op_id)))
        for parent in op.depends_on:
            self.conn.execute(sql.INSERT_DEPENDENCY, (op_id, parent))
        return op.evolve(id=op_id)

    def save(self, old: Operation, new: Operation) -> None:
        self.leased.pop(new.id, None)
        self.conn.execute(sql.UPDATE, (*sql.values(new), new.id))

    def record(self, action: str, op: Operation, detail: dict[str, Any]) -> None:
        if self.audited:
            entry = audit.Entry(action, self.now, op.entity_type, op.entity_key, op.id, detail)
            audit.append_many([entry], self.conn)


def set_aside(
    conn: sqlite3.Connection,
    rows: list[tuple[Any, str]],
    now: float,
    leased: dict[int, Remembered],
    audited: bool,
) -> None:
    """Park operations whose stored values do not open (changed on disk, or copied from
    another operation): nothing is sent from them, and the queue shows why."""
    entries = []
    for row, problem in dict((r[0], (r, p)) for r, p in rows).values():
        op_id = row[0]
        reason = f"Not sent: {problem}"
        conn.execute(sql.SET_ASIDE, (sql.sealed_reason(op_id, reason), now, op_id))
        leased.pop(op_id, None)
        detail = {"reason": reason, "state": OpState.PARKED.value}
        entries.append(
            audit.Entry("parked", now, row[2], entity_key(row[3], row[4]), op_id, detail)
        )
    if audited:
        audit.append_many(entries, conn)
