"""The outbox in the agent's own SQLite database (the default backend).

Every mutation runs inside `Store.write` (one transaction on the single writer thread), with its
audit events appended in that same transaction, so an edit and its history commit together or
not at all. Reads of lists and counts run on the caller's own connection (WAL readers).
Queueing takes a direct path when the shared rules cannot apply (`sqlite_enqueue`), and a batch
of acknowledgements that hands no ids on is one UPDATE.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from agent.clock import Clock
from agent.queue import claiming, coalesce, lifecycle
from agent.queue import sqlite_enqueue as fast
from agent.queue import sqlite_rows as sql
from agent.queue.base import LedgerOutbox
from agent.queue.ledger import Ledger
from agent.queue.operation import NewOperation, Operation, OpQuery, Page, QueueEvent
from agent.queue.sqlite_ledger import (
    LEASED,
    Reached,
    SqliteLedger,
    acknowledge_remembered,
    by_ids_remembered,
    decoded,
    page_size,
    set_aside,
    with_dependencies,
)
from agent.queue.strategies import Strategy
from agent.security.errors import SealedPayloadError
from agent.store import audit
from agent.store.codec import row_key as key
from agent.store.connection import Store
from agent.store.models import OpKind, OpState, Priority

T = TypeVar("T")
DIRECT_ROWS = 100  # larger batches are written on the store's writer thread (`Store.write`)
REMEMBERED = 20_000  # leased operations remembered for acknowledge_many (`by_ids_remembered`)


class SQLiteBackend(LedgerOutbox):
    """The outbox as rows of `outbox_op` / `op_dependency` in the store's database."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        audit: bool = True,
        *,
        strategy: Strategy | str | None = None,
        capacity: int | None = None,
    ) -> None:
        super().__init__(clock, strategy=strategy, capacity=capacity)
        self.store = store
        self.audited = audit
        self._leased = LEASED.setdefault(store, {})
        self._ids = fast.next_ids(store)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = self.store.db.connection()
        return conn

    def _transact(self, fn: Callable[[Ledger], T]) -> T:
        now = self._now()
        return self.store.write(
            lambda: fn(SqliteLedger(self._conn(), now, self.audited, self._leased))
        )

    def state_of(self, op_id: int) -> OpState | None:
        """The state of `op_id` without opening its stored values (None: no such operation)."""

        def run() -> OpState | None:
            row = self._conn().execute("SELECT state FROM outbox_op WHERE id=?", (op_id,))
            found = row.fetchone()
            return None if found is None else OpState(found[0])

        return self.store.read(run)

    def cancel(self, op_id: int, reason: str) -> Operation:
        """Cancel `op_id` and what waits for it; an operation whose stored values do not open
        (changed on disk) is cancelled by its row alone, so the technician can always drop it."""
        try:
            return super().cancel(op_id, reason)
        except SealedPayloadError:
            now = self._now()

            def run() -> Operation:
                conn = self._conn()
                conn.execute(sql.CANCEL_UNREADABLE, (sql.sealed_reason(op_id, reason), now, op_id))
                self._leased.pop(op_id, None)
                for dependent in SqliteLedger(conn, now, self.audited, self._leased).dependents(
                    op_id
                ):
                    lifecycle.cancel_cascade(
                        SqliteLedger(conn, now, self.audited, self._leased), dependent, reason
                    )
                rows = conn.execute(sql.SELECT + " WHERE id=?", (op_id,)).fetchall()
                [op] = with_dependencies(conn, rows, listing=True)
                return op

            return self.store.write(run)

    # -- enqueueing (see `sqlite_enqueue`) ----------------------------------------------------

    def enqueue(self, new: NewOperation) -> Operation:
        fp = coalesce.fingerprint_of(new)
        now = self._now()

        capacity, audited = self.capacity, self.audited

        def run() -> Operation:
            conn: sqlite3.Connection = self.store.db.connection()
            op = fast.enqueue_direct(
                conn, self._ids, new, fp, now, capacity=capacity, audited=audited
            )
            if op is not None:
                return op
            ledger = SqliteLedger(conn, now, audited, self._leased)
            return coalesce.enqueue(ledger, new, capacity=capacity, fp=fp)

        return self.store.write(run)

    def enqueue_many(self, news: Sequence[NewOperation]) -> list[Operation]:
        news = list(news)
        fps = [coalesce.fingerprint_of(new) for new in news]
        now = self._now()
        capacity, audited = self.capacity, self.audited

        def run() -> list[Operation]:
            conn = self._conn()
            bulk = fast.enqueue_batch(conn, news, fps, now, capacity=capacity, audited=audited)
            if bulk is not None:
                return bulk
            ledger = SqliteLedger(conn, now, audited, self._leased)
            return [
                fast.enqueue_one(
                    conn, self._ids, ledger, new, fp, capacity=capacity, audited=audited
                )
                for new, fp in zip(news, fps, strict=True)
            ]

        return self.store.write(run, large=len(news) > DIRECT_ROWS)

    def acknowledge_many(self, acks: Mapping[int, int | None]) -> list[Operation]:
        """Operations this store's claims handed out, unchanged since, are acknowledged without
        being read again (`acknowledge_remembered`); otherwise one UPDATE for the whole batch
        when no acknowledgement has ids to hand on (a create with its server id rewrites its
        dependents: then each runs the shared rule in turn)."""
        items = list(acks.items())
        now = self._now()

        def run() -> list[Operation]:
            conn = self._conn()
            done = acknowledge_remembered(conn, items, self._leased, now)
            if done is not None:
                return done
            found = by_ids_remembered(conn, [op_id for op_id, _ in items], self._leased)
            for op_id, _ in items:
                self._leased.pop(op_id, None)
            ledger = SqliteLedger(conn, now, self.audited, self._leased)
            if any(
                (op := found.get(op_id)) is None
                or (op.kind is OpKind.CREATE and server_id is not None)
                for op_id, server_id in items
            ):
                return [lifecycle.acknowledge(ledger, i, s) for i, s in items]
            todo = [op_id for op_id, _ in items if found[op_id].state is not OpState.DONE]
            for start in range(0, len(todo), 500):
                chunk = todo[start : start + 500]
                conn.execute(sql.ACKNOWLEDGE.format(marks=sql.marks(len(chunk))), (now, *chunk))
            return [
                lifecycle.done_version(found[op_id], found[op_id].target_id, now)
                for op_id, _ in items
            ]

        return self.store.write(run, large=len(items) > DIRECT_ROWS)

    # -- claiming -----------------------------------------------------------------------------

    def _level(
        self,
        conn: sqlite3.Connection,
        level: int,
        now: float,
        extra: str,
        page: int,
        reached: Reached,
    ) -> Iterator[Operation]:
        statement = sql.LEVEL_PAGE.format(extra=extra)
        after_at, after_id = float("-inf"), 0
        while True:
            rows = conn.execute(
                statement, (level, now, after_at, after_at, after_id, page)
            ).fetchall()
            yield from decoded(conn, rows, reached)
            if len(rows) < page:
                return
            after_at, after_id = rows[-1][12], rows[-1][0]

    def _deadlines(
        self, conn: sqlite3.Connection, now: float, page: int, reached: Reached
    ) -> Iterator[Operation]:
        offset = 0
        while True:
            rows = conn.execute(sql.DEADLINE_PAGE, (now, page, offset)).fetchall()
            yield from decoded(conn, rows, reached)
            if len(rows) < page:
                return
            offset += page

    def _blocked(self, conn: sqlite3.Connection, ops: list[Operation]) -> set[int]:
        ids = [op.id for op in ops]
        return {row[0] for row in conn.execute(sql.BLOCKED.format(marks=sql.marks(len(ids))), ids)}

    def claim(
        self,
        owner: str,
        lease_seconds: float,
        limit: int = 100,
        strategy: Strategy | str | None = None,
    ) -> list[Operation]:
        chosen_strategy = self._strategy(strategy)
        now = self._now()
        until = now + lease_seconds

        def run() -> list[Operation]:
            conn = self._conn()
            page = page_size(limit)
            streams: list[Iterator[Operation]] = []
            reached = Reached()
            extra = ""
            if chosen_strategy.uses_deadline_stream:
                streams.append(self._deadlines(conn, now, page, reached))
                extra = " AND deadline_at IS NULL"
            streams.extend(
                self._level(conn, level, now, extra, page, reached) for level in Priority
            )
            picked = claiming.choose(
                chosen_strategy, streams, now, limit, lambda ops: self._blocked(conn, ops)
            )
            if reached.unreadable:
                set_aside(conn, reached.unreadable, now, self._leased, self.audited)
            if not picked:
                return []
            ids = [op.id for op in picked]
            conn.execute(sql.LEASE.format(marks=sql.marks(len(ids))), (owner, until, now, *ids))
            out = [lifecycle.leased(op, owner, until, now) for op in picked]
            if len(self._leased) + len(out) > REMEMBERED:
                self._leased.clear()
            stored = reached.stored
            self._leased.update((op.id, (op, sql.scalars(op, *stored[op.id]))) for op in out)
            return out

        return self.store.write(run, large=limit > DIRECT_ROWS)

    def recover_expired_leases(self, *, held_by: str | None = None) -> list[Operation]:
        now = self._now()

        def run() -> list[Operation]:
            conn = self._conn()
            ledger = SqliteLedger(conn, now, self.audited, self._leased)
            back = []
            rows = conn.execute(sql.EXPIRED_LEASES, (now,)).fetchall()
            if held_by is not None:
                rows += conn.execute(sql.LEASES_HELD_BY, (held_by, now)).fetchall()
            for op in with_dependencies(conn, rows):
                again = lifecycle.expired(op, now)
                ledger.save(op, again)
                back.append(again)
            return back

        return self.store.write(run)

    # -- reading ------------------------------------------------------------------------------

    def get(self, op_id: int) -> Operation | None:
        def run() -> Operation | None:
            return SqliteLedger(self._conn(), 0.0, False).get(op_id)

        return self.store.read(run)

    @staticmethod
    def _where(query: OpQuery) -> tuple[str, list[Any]]:
        terms: list[str] = []
        params: list[Any] = []
        if query.states is not None:
            states = sorted(s.value for s in query.states)
            if OpState.PENDING in query.states:
                # "+state": walk the id order (the primary key) and filter, instead of sorting
                # every pending row; pending rows are most live rows, so pages stay cheap.
                terms.append(f"+state IN ({sql.marks(len(states))})")
            else:
                # The literal "state<>'pending'" lets SQLite use the partial (state, id) index.
                terms.append(f"state IN ({sql.marks(len(states))}) AND state<>'pending'")
            params.extend(states)
        if query.priority is not None:
            terms.append("priority=?")
            params.append(int(query.priority))
        if query.entity_type is not None:
            terms.append("entity_type=?")
            params.append(query.entity_type)
        if query.target_id is not None:
            terms.append("target_id=?")
            params.append(query.target_id)
        if query.temp_id is not None:
            terms.append("temp_id=?")
            params.append(query.temp_id)
        if query.outcome_unknown is not None:
            terms.append("outcome_unknown=?")
            params.append(int(query.outcome_unknown))
        return (" WHERE " + " AND ".join(terms)) if terms else "", params

    def list_ops(self, query: OpQuery) -> Page:
        where, params = self._where(query)
        if query.after_id is not None:
            where += (" AND " if where else " WHERE ") + "id>?"
            params.append(query.after_id)
            tail, extra = " ORDER BY id LIMIT ?", [query.limit + 1]
        else:
            tail, extra = " ORDER BY id LIMIT ? OFFSET ?", [query.limit + 1, query.offset]

        def run() -> list[Operation]:
            conn = self._conn()
            return with_dependencies(
                conn,
                conn.execute(sql.SELECT + where + tail, [*params, *extra]).fetchall(),
                listing=True,
            )

        ops = self.store.read(run)
        items = ops[: query.limit]
        return Page(items, items[-1].id if len(ops) > query.limit and items else None)

    def count(self, query: OpQuery | None = None) -> int:
        where, params = self._where(query or OpQuery())
        where = where.replace("+state", "state")  # counting wants the state index
        return int(
            self.store.read(
                lambda: (
                    self._conn()
                    .execute("SELECT COUNT(*) FROM outbox_op" + where, params)
                    .fetchone()[0]
                )
            )
        )

    def counts_by_state(self) -> dict[OpState, int]:
        rows = self.store.read(
            lambda: (
                self._conn()
                .execute("SELECT state, COUNT(*) FROM outbox_op GROUP BY state")
                .fetchall()
            )
        )
        counts = dict.fromkeys(OpState, 0)
        counts.update({OpState(state): n for state, n in rows})
        return counts

    def purge(self, retention_seconds: float) -> int:
        cutoff = self._now() - retention_seconds
        total = 0
        while True:  # in slices, so the writer is never held for long
            n = self.store.write(
                lambda: (
                    self._conn()
                    .execute(
                        "DELETE FROM outbox_op WHERE id IN (SELECT id FROM outbox_op "
                        "WHERE state IN ('done','cancelled') AND updated_at<? LIMIT 2000)",
                        (cutoff,),
                    )
                    .rowcount
                )
            )
            total += n
            if n < 2000:
                return total

    def history(self, op_id: int) -> list[QueueEvent]:
        def run() -> list[Any]:
            conn = self._conn()
            # An absorbed operation's merge is recorded under the operation it merged into
            # (its `reason` names it); both lookups go through the op_id index.
            row = conn.execute("SELECT reason FROM outbox_op WHERE id=?", (op_id,)).fetchone()
            into = sql.coalesced_into(sql.open_reason(op_id, row[0]) if row else None)
            return conn.execute(sql.HISTORY, (op_id, into, op_id)).fetchall()

        rows = self.store.read(run)
        decode = sql.payload_decoder(audit.VALUES_COLUMN)
        return [
            QueueEvent(a, at, o, audit.merge_detail(d, None if v is None else decode(v, key(h))))
            for _, a, at, o, d, v, h in rows
        ]

    def close(self) -> None:
        """The store belongs to its opener; the backend holds nothing else."""
