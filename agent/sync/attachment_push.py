"""Uploading attached files: each in a task of its own, paced within the byte budget.

The push hands over every attachment create it claims (`start`) and goes on at once: a slow
upload never holds back the batch, the round or a status change captured meanwhile. An upload
whose bytes would overrun the integration's budget (`agent.resilience.byte_budget`) does not
leave: its operation waits, without a failure counted, until enough of the window has passed.
A refusal for the budget (`AttachmentQuotaError`) makes every upload wait out the refusal
period; other work is not slowed by it.

Each attempt is marked sent and written to the create ledger just before it leaves, as every
create is (`agent.sync.push`), so a lost answer is looked up by the reconciler (parent, title,
size, attach time and the technician, `agent.sync.attachment_match`) and never sent twice; a
record it finds is adopted only once `holds` has read it and found the sealed copy's bytes. Once
Autotask has the file (its answer, or such a record), its sealed copy is removed from the
profile.

An upload may outlast its claim's lease: its deadline grows with its size (a 6 MB file over a
poor mobile link takes minutes), and a laptop put to sleep mid-upload wakes with the wall clock
hours on. While its task runs, this agent alone decides the operation: a later claim of it
starts no second upload (`start`), and the reconciler leaves it alone (`busy`), so it is neither
sent twice nor settled as "not on the server" while its answer may still come.

How far each upload is (`progress`) is told to `on_progress` as the connection takes the bytes.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.api.types import UploadProgress
from agent.autotask.attachments import attachment_body
from agent.autotask.errors import AttachmentQuotaError, NotFoundError
from agent.autotask.routes import item_route
from agent.autotask.session import SendInfo
from agent.clock import Clock
from agent.queue.operation import Operation
from agent.queue.outbox import Outbox
from agent.resilience.bulkhead import Kind
from agent.resilience.byte_budget import ByteBudget
from agent.resilience.pipeline import PipelineError
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import AttachmentFile, CreateAttempt, OpKind, OpState
from agent.sync import attachment_match, attempts, outcomes
from agent.sync.calls import ApiCaller
from agent.visit import attachment_files as files
from agent.visit.attachments import ATTACHMENTS, UploadState

log = logging.getLogger(__name__)
# The slowest link an upload is given time for, in bytes a second (a poor mobile connection):
# a call's deadline is its endpoint's own plus the time its body takes at this rate.
MIN_UPLOAD_RATE = 20_000
BODY_OVERHEAD = 1024  # the create's fields around the file's base64 text


def upload_deadline(base: float, size: int) -> float:
    """How long the upload of a file of `size` bytes may take: `base` (the endpoint's call
    deadline) plus its base64-encoded body at `MIN_UPLOAD_RATE`."""
    body = 4 * math.ceil(size / 3) + BODY_OVERHEAD
    return base + body / MIN_UPLOAD_RATE


class AttachmentUploads:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        caller: ApiCaller,
        clock: Clock,
        folder: Path,
        budget: ByteBudget | None = None,
    ) -> None:
        self.store, self.outbox, self.caller, self.clock = store, outbox, caller, clock
        self.folder = folder
        self.budget = budget or ByteBudget(clock)
        self._tasks: dict[int, asyncio.Task[None]] = {}  # by operation id
        self.progress: dict[int, UploadProgress] = {}  # the uploads whose bytes are leaving
        self.on_change: Callable[[], None] = lambda: None  # a file's upload state changed
        self.on_progress: Callable[[UploadProgress], None] = lambda progress: None

    def _now(self) -> float:
        return self.clock.now().timestamp()

    @staticmethod
    def handles(op: Operation) -> bool:
        return op.entity_type == ATTACHMENTS and op.kind is OpKind.CREATE

    async def load(self) -> None:
        """Count what left in the window before this process started."""
        since = self._now() - self.budget.window

        def sends() -> list[tuple[float, int]]:
            rows = AttachmentFile.select(AttachmentFile.sent_at, AttachmentFile.size).where(
                AttachmentFile.sent_at > since
            )
            return [(float(r.sent_at), int(r.size)) for r in rows]

        self.budget.seed(await self.store.aread(sends))
        await self.sweep()

    async def sweep(self) -> int:
        """Remove the sealed copies of files Autotask has (a lost answer's file adopted by the
        reconciler included, whose server id the create ledger holds) or that were discarded;
        returns how many were removed."""

        def ended() -> list[str]:
            blobs: list[str] = []
            rows = AttachmentFile.select().where(
                AttachmentFile.state.not_in([UploadState.SENT.value, "removed"])
            )
            for row in rows:
                op = self.outbox.get(int(row.op_id)) if row.op_id is not None else None
                if op is not None and op.state not in (OpState.DONE, OpState.CANCELLED):
                    continue
                owned = CreateAttempt.get_or_none(CreateAttempt.op_id == row.op_id)
                sent = op is None or op.state is OpState.DONE
                row.state = UploadState.SENT.value if sent else "removed"
                if sent and row.server_id is None and owned is not None:
                    row.server_id = owned.server_id
                row.done_at = row.done_at or self._now()
                row.save()
                blobs.append(str(row.blob))
            return blobs

        blobs = await self.store.awrite(ended)
        for blob in blobs:
            files.remove(self.folder, blob)
        return len(blobs)

    async def holds(self, op: Operation, server_id: int) -> bool:
        """Whether the server's attachment `server_id` holds the bytes of `op`'s sealed file
        (read with its data: one call). A record that is gone, or a sealed copy that cannot be
        read, is not a match; other failures of the call raise `PipelineError`."""
        row = await self.store.aread(lambda: AttachmentFile.get_or_none(op_id=op.id))
        if row is None:
            return False
        try:
            data = await asyncio.to_thread(
                files.open_sealed, self.folder, row.blob, base64.b64decode(row.sealed["key"])
            )
        except (files.SealedFileError, OSError):
            return False
        client = self.caller.client
        endpoint = item_route(ATTACHMENTS, server_id, op.parent_id).endpoint

        async def read() -> dict[str, Any]:
            return await client.get(ATTACHMENTS, server_id, parent_id=op.parent_id)

        try:
            record = await self.caller.call(endpoint, Kind.WRITE, read, op.id)
        except PipelineError as exc:
            if isinstance(exc.error, NotFoundError):
                return False
            raise
        return attachment_match.same_bytes(data, record)

    def start(self, op: Operation) -> None:
        """Upload `op`'s file in a task of its own (referenced until it ends). An operation
        whose upload still runs (claimed again after its lease ran out) is left to that
        upload: its answer settles the operation, whichever claim holds it then."""
        if op.id in self._tasks:
            log.info("operation %s is still uploading: not sent again", op.id)
            return
        task = asyncio.ensure_future(self._upload(op))
        self._tasks[op.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(op.id, None))

    def busy(self, op_id: int) -> bool:
        """Whether an upload of operation `op_id` is under way in this process."""
        return op_id in self._tasks

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for every upload under way to end."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self, grace: float = 30.0) -> None:
        """Let the uploads under way end within `grace` seconds (a `sync` on the command line
        ends with its uploads), then cancel the rest: their operations come back when their
        leases end, outcome unknown if they had left, and the reconciler settles them."""
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=grace)
        for task in list(self._tasks.values()):
            task.cancel()
        await self.drain()

    async def _upload(self, op: Operation) -> None:
        try:
            await self._send(op)
        except Exception:  # the operation stays leased and comes back when its lease ends
            log.exception("upload of operation %s failed", op.id)
        finally:
            self._progress_ended(op.id)
        try:
            await self.sweep()
        except Exception:  # a disk condition: the copies are removed at a later upload
            log.exception("sealed copies of sent files not removed")
        finally:
            self.on_change()

    def _progressed(self, started: UploadProgress, sent: int, total: int) -> None:
        now = dataclasses.replace(started, sent=sent, total=total)
        self.progress[started.op_id] = now
        self.on_progress(now)

    def _progress_ended(self, op_id: int) -> None:
        last = self.progress.pop(op_id, None)
        if last is not None:
            self.on_progress(dataclasses.replace(last, ended=True))

    async def _send(self, op: Operation) -> None:
        row = await self.store.aread(lambda: AttachmentFile.get_or_none(op_id=op.id))
        if row is None:
            await self._give_up(op, "the attached file's record is missing from this computer")
            return
        wait = self.budget.wait_for(int(row.size))
        if wait > 0:
            await self._wait(op, wait)
            return
        # Counted now, before anything is awaited: uploads started side by side each see the
        # others' bytes. One that then never leaves only makes the next ones wait a little.
        self.budget.spend(int(row.size))
        try:
            data = await asyncio.to_thread(
                files.open_sealed, self.folder, row.blob, base64.b64decode(row.sealed["key"])
            )
        except (files.SealedFileError, OSError) as exc:
            await self._give_up(op, str(exc))
            return
        body = attachment_body(
            str(op.fields["fullPath"]),
            data,
            title=str(op.fields.get("title") or op.fields["fullPath"]),
            publish=int(op.fields.get("publish", 1)),
        )
        del data
        client = self.caller.client
        started = UploadProgress(
            op_id=op.id,
            ticket_id=int(row.ticket_id),
            name=str(row.sealed.get("name", "")),
            size=int(row.size),
            sent=0,
            total=0,
        )
        limits = self.caller.pipeline.timeouts.for_endpoint(op.endpoint)
        deadline = upload_deadline((limits.connect or 10.0) + (limits.read or 30.0), started.size)

        async def leaving(info: SendInfo) -> None:
            now = self._now()

            def mark() -> None:
                current = self.outbox.get(op.id)
                if current is not None and current.state is OpState.PENDING:
                    # Its lease ran out while it waited for its turn: still this upload's to
                    # send, and from now on its outcome is unknown until it is answered.
                    self.outbox.release(
                        op.id,
                        current.next_attempt_at,
                        current.last_error,
                        current.error_category,
                        outcome_unknown=True,
                    )
                else:
                    self.outbox.mark_sent(op.id)
                attempts.sent(op, now, info)
                AttachmentFile.update(state=UploadState.UPLOADING.value, sent_at=now).where(
                    AttachmentFile.op_id == op.id
                ).execute()
                audit.append(
                    "sent",
                    at=now,
                    entity_type=op.entity_type,
                    entity_id=op.entity_key,
                    op_id=op.id,
                    detail={"kind": "create", "bytes": int(row.size)},
                )

            await self.store.awrite(mark)
            self._progressed(started, 0, 0)  # leaving: shown as uploading from now on
            self.on_change()

        def progressed(sent: int, total: int) -> None:
            self._progressed(started, sent, total)

        async def create() -> int:
            with (
                client.deadline(deadline),
                client.sending(leaving),
                client.reporting_upload(progressed),
            ):
                return await client.create(ATTACHMENTS, body, parent_id=op.parent_id)

        try:
            server_id = await self.caller.call(op.endpoint, Kind.WRITE, create, op.id)
        except PipelineError as exc:
            if isinstance(exc.error, AttachmentQuotaError):
                self.budget.refused(exc.error.retry_after)
            await self._failed(op, exc)
            return
        await self._succeeded(op, server_id, row.blob)

    async def _succeeded(self, op: Operation, server_id: int, blob: str) -> None:
        now = self._now()
        sent = {k: v for k, v in op.fields.items() if k not in ("file",)}

        def done() -> None:
            outcomes.succeeded(
                self.outbox,
                op,
                now=now,
                server_id=server_id,
                server_values=None,
                sent=sent,
                reason="file attached",
            )
            AttachmentFile.update(
                state=UploadState.SENT.value, server_id=server_id, done_at=now
            ).where(AttachmentFile.op_id == op.id).execute()

        await self.store.awrite(done)
        files.remove(self.folder, blob)

    async def _failed(self, op: Operation, exc: PipelineError) -> None:
        unknown = exc.attempted and exc.action.value == "reconcile"
        retry_at = exc.retry_at.timestamp() if exc.retry_at is not None else None
        if isinstance(exc.error, AttachmentQuotaError):
            retry_at = max(retry_at or 0.0, self.budget.refused_until)
        message = str(exc)
        if exc.error is not None and getattr(exc.error, "messages", None):
            message = "; ".join(exc.error.messages)  # type: ignore[attr-defined]

        def record() -> None:
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
            AttachmentFile.update(state=UploadState.QUEUED.value).where(
                AttachmentFile.op_id == op.id
            ).execute()

        await self.store.awrite(record)

    async def _wait(self, op: Operation, seconds: float) -> None:
        used = self.budget.used()
        why = (
            f"waiting {seconds:.0f} s: {used / 1_000_000:.1f} MB of attachments went to Autotask "
            f"in the last 5 minutes, which takes at most {self.budget.limit / 1_000_000:.0f} MB"
        )
        until = self._now() + seconds
        await self.store.awrite(lambda: self.outbox.release(op.id, until, why, "byte_budget"))

    async def _give_up(self, op: Operation, why: str) -> None:
        def park() -> None:
            current = self.outbox.get(op.id)
            if current is not None and current.state is OpState.LEASED:
                self.outbox.park(op.id, why, error=why, category="local_file")

        await self.store.awrite(park)
