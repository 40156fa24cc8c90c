"""Push: claim a batch, read the server's current state of every target in as few queries as the
500-id limit allows, merge field by field, and send one PATCH per entity with only what is safe.

Remaining risk, stated plainly: Autotask has no ETag or If-Match, so between our read of an entity
and our PATCH a dispatcher can still change a field we are about to send, and the PATCH wins. The
window is kept short (the read and the writes of one batch happen back to back, nothing else
runs between them, and only fields whose server value still equals the base are sent), but it
cannot be closed on this API.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from agent.autotask import NotFoundError
from agent.autotask.errors import UnreadableRecordError
from agent.autotask.queries import chunked_in
from agent.autotask.session import SendInfo
from agent.clock import Clock
from agent.queue.operation import LIVE_STATES, Operation
from agent.queue.outbox import Outbox
from agent.resilience.bulkhead import Kind
from agent.resilience.pipeline import PipelineError
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import OpKind
from agent.sync import attempts, outcomes, partial
from agent.sync.calls import ApiCaller
from agent.sync.late_writes import WAIT_MESSAGE, LateWrites
from agent.sync.merge import FieldDecision, changed_since
from agent.sync.readback import merge_with_server
from agent.sync.reconcile import uncertain_ops

if TYPE_CHECKING:
    from agent.sync.attachment_push import AttachmentUploads

log = logging.getLogger(__name__)
T = TypeVar("T")
LEASE_SECONDS = 300.0
# A target the merge's query left out but a GET found: waits that grow, never a tight loop.
MISSING_WAIT, MISSING_WAIT_CAP = 5.0, 600.0


@dataclass
class PushReport:
    claimed: int = 0
    sent: int = 0
    succeeded: int = 0
    conflicts: int = 0
    failed: int = 0
    api_calls: int = 0
    uploads: int = 0  # attachment uploads started (each goes on in a task of its own)
    errors: list[str] = field(default_factory=list)

    def merge(self, other: PushReport) -> None:
        """Add the counts of a batch sent alongside."""
        self.claimed += other.claimed
        self.sent += other.sent
        self.succeeded += other.succeeded
        self.conflicts += other.conflicts
        self.failed += other.failed
        self.api_calls += other.api_calls
        self.uploads += other.uploads
        self.errors.extend(other.errors)


async def _all(*calls: Awaitable[Any]) -> None:
    """Run `calls` side by side and return only once every one has ended, then raise the first
    failure, if any. (`asyncio.gather` raises at the first failure and leaves the others
    running: one of them could then send a create the next round also sends, after a write
    refused by a full disk ended this one.)"""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


class Pusher:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        caller: ApiCaller,
        clock: Clock,
        settle: Callable[[Operation], Awaitable[bool]] | None = None,
    ) -> None:
        self.store, self.outbox, self.caller, self.clock = store, outbox, caller, clock
        self.client = caller.client
        # Settles a create whose earlier attempt may have landed (never sent again blindly).
        self.settle = settle
        self.late = LateWrites(clock)
        store.read(self.late.load)
        uncertain = store.read(lambda: uncertain_ops(outbox, LIVE_STATES))
        if uncertain:
            store.write(lambda: self.late.recall(uncertain))
        self.on_done: Callable[[], None] = lambda: None  # each claimed operation, once handled
        # Each outcome as it is known (True: accepted), so throughput moves during a drain.
        self.on_result: Callable[[bool], None] = lambda ok: None
        # Attachment uploads, each in a task of its own (`agent.sync.attachment_push`).
        self.uploads: AttachmentUploads | None = None

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def _call(
        self,
        report: PushReport,
        endpoint: str,
        kind: Kind,
        op: Operation | None,
        fn: Callable[[], Awaitable[T]],
    ) -> T:
        report.api_calls += 1
        return await self.caller.call(endpoint, kind, fn, None if op is None else op.id)

    async def push_batch(self, ops: list[Operation], report: PushReport) -> None:
        """Send a claimed batch: deletes, then updates (one read per 500 ids), then creates."""
        report.claimed += len(ops)
        ops = await self._after_late_writes(ops)
        uncertain = [o for o in ops if o.outcome_unknown and o.kind is OpKind.CREATE]
        if uncertain:
            if self.settle is None:
                raise RuntimeError("an outcome-unknown create needs a reconciler")
            for op in uncertain:
                try:
                    await self.settle(op)
                finally:
                    self.on_done()
            ops = [o for o in ops if o not in uncertain]
        if self.uploads is not None:
            handed = [o for o in ops if self.uploads.handles(o)]
            report.uploads += len(handed)
            for op in handed:
                self.uploads.start(op)
                self.on_done()
            ops = [o for o in ops if o not in handed]
        updates = [o for o in ops if o.kind is OpKind.UPDATE and o.target_id is not None]
        others = [o for o in ops if o not in updates]
        # Calls run side by side; the pipeline's per-endpoint limit keeps them within Autotask's
        # three concurrent requests per endpoint.
        await _all(
            *(
                self._push_updates([o for o in updates if o.endpoint == endpoint], report)
                for endpoint in sorted({o.endpoint for o in updates})
            ),
            *(self._handled(self._push_one(op, report)) for op in others),
        )

    async def _after_late_writes(self, ops: list[Operation]) -> list[Operation]:
        """`ops` less those that wait for an earlier write to their record that may still land
        (`agent.sync.late_writes`); those go back to the queue until then."""
        go: list[Operation] = []
        for op in ops:
            wait = self.late.wait(op)
            if wait is None:
                go.append(op)
                continue
            try:
                await self.store.awrite(waiting(self.outbox, op, self._now() + wait))
            finally:
                self.on_done()
        return go

    async def _handled(self, step: Awaitable[None]) -> None:
        try:
            await step
        finally:
            self.on_done()

    async def _read_current(
        self, endpoint: str, ops: list[Operation], report: PushReport
    ) -> dict[int, dict[str, Any]]:
        ids = sorted({int(o.target_id) for o in ops if o.target_id is not None})
        found: dict[int, dict[str, Any]] = {}
        for condition in chunked_in("id", ids):

            async def read(cond: Any = condition) -> list[dict[str, Any]]:
                return [item async for item in self.client.query(endpoint, cond)]

            for item in await self._call(report, endpoint, Kind.WRITE, None, read):
                found[int(item["id"])] = item
        return found

    async def _push_updates(self, ops: list[Operation], report: PushReport) -> None:
        endpoint = ops[0].endpoint
        read_at = self._now()
        try:
            current = await self._read_current(endpoint, ops, report)
        except PipelineError as exc:
            for op in ops:
                await self._handled(self._failed(op, exc, report, attempted=False))
            return
        await _all(
            *(
                self._handled(
                    self._merge_and_send(op, current.get(int(op.target_id or 0)), read_at, report)
                )
                for op in ops
            )
        )

    async def _merge_and_send(
        self, op: Operation, theirs: dict[str, Any] | None, read_at: float, report: PushReport
    ) -> None:
        if theirs is None:
            await self._deleted_or_missing(op, report)
            return
        base = {**op.base, **self.late.ours(op, theirs)}
        result = merge_with_server(op.entity_type, base, op.fields, theirs)
        to_send = result.to_send
        if to_send:
            try:
                await self.store.awrite(lambda: self._mark_sent(op, to_send))

                async def patch() -> int:
                    return await self.client.update(
                        op.entity_type, int(op.target_id or 0), to_send, parent_id=op.parent_id
                    )

                await self._call(report, op.endpoint, Kind.WRITE, op, patch)
                report.sent += 1
            except PipelineError as exc:
                if not partial.is_refusal(exc) or not await self._send_in_parts(
                    op, to_send, exc, theirs, result.conflicts, read_at, report
                ):
                    await self._failed(op, exc, report, attempted=exc.attempted)
                return
        if result.conflicts:
            report.conflicts += 1

            def park() -> None:
                now = self._now()
                # The server's values just read are what the technician decides against, and
                # the base of any change typed meanwhile (a new edit of the field is no second
                # conflict with a value already seen).
                outcomes.seen_in_conflict(op, theirs, now)
                outcomes.sent_part(
                    op, theirs, to_send, now, "part of the change; the rest is in conflict"
                )
                outcomes.record_conflicts(
                    self.outbox,
                    op,
                    result.conflicts,
                    now=now,
                    theirs_read_at=read_at,
                    remaining={c.field: c.mine for c in result.conflicts},
                    remaining_base={c.field: op.base.get(c.field) for c in result.conflicts},
                    theirs=theirs,
                )

            await self.store.awrite(park)
            return
        reasons = "; ".join(f"{d.field}: {d.reason}" for d in result.decisions)

        def done() -> None:
            outcomes.succeeded(
                self.outbox,
                op,
                now=self._now(),
                server_id=None,
                server_values=theirs,
                sent=to_send,
                reason=reasons,
            )

        await self.store.awrite(done)
        report.succeeded += 1
        self.on_result(True)

    async def _send_in_parts(
        self,
        op: Operation,
        to_send: dict[str, Any],
        refusal: PipelineError,
        theirs: dict[str, Any],
        conflicts: tuple[FieldDecision, ...],
        read_at: float,
        report: PushReport,
    ) -> bool:
        """The server refused the update as a whole: send the fields it accepts and keep only
        the rest (`agent.sync.partial`). False when nothing went and nothing conflicts: the
        caller then records the refusal of the whole operation."""

        async def patch(fields: dict[str, Any]) -> None:
            async def call() -> int:
                return await self.client.update(
                    op.entity_type, int(op.target_id or 0), fields, parent_id=op.parent_id
                )

            await self._call(report, op.endpoint, Kind.WRITE, op, call)

        split = await partial.send_in_parts(op.entity_type, to_send, patch, refusal)
        if not split.sent and not conflicts:
            if split.error is None:
                return False
            await self._failed(op, split.error, report, attempted=split.error.attempted)
            return True
        if split.sent:
            report.sent += 1
        now = self._now()
        went = await self.store.awrite(
            lambda: partial.settle(
                self.outbox, op, split, theirs=theirs, conflicts=conflicts, now=now, read_at=read_at
            )
        )
        report.succeeded += int(went)
        if went:
            self.on_result(True)
        if conflicts:
            report.conflicts += 1
        if split.error is not None:
            await self._failed(op, split.error, report, attempted=split.error.attempted)
        elif split.refused:
            report.failed += 1
            self.on_result(False)
            report.errors.append(f"op {op.id}: validation: {partial.reason_for(split.refused)}")
        return True

    def _mark_sent(self, op: Operation, fields: dict[str, Any]) -> None:
        """From here on the write may reach the server: a crash leaves it outcome-unknown."""
        self.outbox.mark_sent(op.id)
        audit.append(
            "sent",
            at=self._now(),
            entity_type=op.entity_type,
            entity_id=op.entity_key,
            op_id=op.id,
            detail={"kind": op.kind.value, "fields": fields},
        )

    async def _deleted_or_missing(self, op: Operation, report: PushReport) -> None:
        """Not in the query's answer: confirm with a GET before calling it deleted."""
        try:
            await self._call(
                report,
                op.endpoint,
                Kind.WRITE,
                op,
                lambda: self.client.get(op.entity_type, int(op.target_id or 0)),
            )
        except PipelineError as exc:
            if isinstance(exc.error, NotFoundError):
                report.conflicts += 1
                await self.store.awrite(
                    lambda: outcomes.record_deleted_on_server(self.outbox, op, now=self._now())
                )
                return
            if not isinstance(exc.error, UnreadableRecordError):
                await self._failed(op, exc, report, attempted=False)
                return
        # It exists after all: read lag, or a record the server answers unreadably (the
        # client's screening leaves it out of the query too).
        wait = min(MISSING_WAIT_CAP, MISSING_WAIT * 2 ** min(op.attempts, 10))
        retry_at = self._now() + wait
        await self.store.awrite(
            lambda: self.outbox.release(
                op.id,
                retry_at,
                "Autotask's list left this record out; tried again later",
                outcome_unknown=op.outcome_unknown,
            )
        )

    async def _may_delete(self, op: Operation, report: PushReport) -> bool:
        """Whether the delete `op` may be sent: the server's record still holds the values the
        delete was made against (its base). A change there parks it as a conflict; a read that
        fails is a failed attempt; a record the read does not find is left to the DELETE (gone
        already, or left out of the answer)."""
        if op.target_id is None or not op.base:
            return True
        read_at = self._now()
        try:
            found = await self._read_current(op.endpoint, [op], report)
        except PipelineError as exc:
            await self._failed(op, exc, report, attempted=False)
            return False
        theirs = found.get(int(op.target_id))
        changed = {} if theirs is None else changed_since(op.entity_type, op.base, theirs)
        if theirs is None or not changed:
            return True
        report.conflicts += 1
        await self.store.awrite(
            lambda: outcomes.record_changed_on_server(
                self.outbox, op, changed, theirs=theirs, now=self._now(), read_at=read_at
            )
        )
        return False

    async def _push_one(self, op: Operation, report: PushReport) -> None:
        if op.kind is OpKind.DELETE and not await self._may_delete(op, report):
            return
        try:
            if op.kind is not OpKind.CREATE:  # a create is marked as it leaves (`_create`)
                await self.store.awrite(lambda: self._mark_sent(op, op.fields))
            server_id: int | None = None
            if op.kind is OpKind.CREATE:
                server_id = await self._call(
                    report,
                    op.endpoint,
                    Kind.WRITE,
                    op,
                    lambda: self._create(op),
                )
            elif op.kind is OpKind.DELETE:
                try:
                    await self._call(
                        report,
                        op.endpoint,
                        Kind.WRITE,
                        op,
                        lambda: self.client.delete(
                            op.entity_type, int(op.target_id or 0), parent_id=op.parent_id
                        ),
                    )
                except PipelineError as exc:
                    if not isinstance(exc.error, NotFoundError):
                        raise
            else:  # an update whose target was created in this same batch: plain PATCH
                await self._call(
                    report,
                    op.endpoint,
                    Kind.WRITE,
                    op,
                    lambda: self.client.update(
                        op.entity_type, int(op.target_id or 0), op.fields, parent_id=op.parent_id
                    ),
                )
            report.sent += 1
        except PipelineError as exc:
            await self._failed(op, exc, report, attempted=exc.attempted)
            return
        await self.store.awrite(
            lambda: outcomes.succeeded(
                self.outbox,
                op,
                now=self._now(),
                server_id=server_id,
                server_values=None,
                sent=op.fields,
                reason=f"{op.kind.value} accepted",
            )
        )
        report.succeeded += 1
        self.on_result(True)

    async def _create(self, op: Operation) -> int:
        """POST a create; each attempt is marked sent and written to the create ledger (with
        its deadline) in one transaction just before it leaves, after every wait of the
        pipeline, so a lost answer is looked for where and as long as it can be, and a create
        that never left (its marking refused by a full disk, say) is never thought sent."""

        async def leaving(info: SendInfo) -> None:
            now = self._now()

            def mark() -> None:
                self._mark_sent(op, op.fields)
                attempts.sent(op, now, info)

            await self.store.awrite(mark)

        with self.client.sending(leaving):
            return await self.client.create(op.entity_type, op.fields, parent_id=op.parent_id)

    async def _failed(
        self, op: Operation, exc: PipelineError, report: PushReport, *, attempted: bool
    ) -> None:
        report.failed += 1
        self.on_result(False)
        report.errors.append(f"op {op.id}: {exc.category}: {exc}")
        unknown = attempted and exc.action.value == "reconcile"
        retry_at = exc.retry_at.timestamp() if exc.retry_at is not None else None
        message = str(exc)
        if exc.error is not None and getattr(exc.error, "messages", None):
            message = "; ".join(exc.error.messages)  # type: ignore[attr-defined]

        def record() -> None:
            if unknown:
                self.late.unanswered(op)
            outcomes.failed(
                self.outbox,
                op,
                now=self._now(),
                category=exc.category.value,
                action=exc.action.value,
                message=message,
                retry_at=retry_at,
                outcome_unknown=unknown,
            )

        await self.store.awrite(record)


def waiting(outbox: Outbox, op: Operation, until: float) -> Callable[[], Operation]:
    """Back to the queue until `until`, keeping what is known of its last attempt."""
    return lambda: outbox.release(op.id, until, WAIT_MESSAGE, outcome_unknown=op.outcome_unknown)
