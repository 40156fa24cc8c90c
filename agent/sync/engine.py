"""The sync loop: reconcile what is uncertain, push what is queued, pull what changed, repeat.

One `SyncEngine` per profile. `sync_once` is a full round (used by `autotask-agent sync` and by
tests); `run` repeats it every `interval` seconds, at once when woken (an edit, "Sync now", the
network coming back), and not at all while paused or working offline.

The technician's edits go first in every round and nothing about the pull can hold them back: a
failed pull (a fault, a bad record, a mode that refuses reads) is reported in the `SyncReport`
and tried again on its own backoff while every later round still pushes. Each kind of record is
a part of the pull of its own (`agent.sync.parts`): one that fails waits for its own backoff
while the others are still read. The push needs no pull:
its merge reads the server's current state itself (as writes, so shedding leaves them alone).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.autotask.screening import RecordProblem
from agent.clock import Clock
from agent.queue.batching import BatchSizer, Dispatcher
from agent.queue.outbox import Outbox
from agent.resilience.backoff import RetrySchedule
from agent.resilience.pipeline import PipelineError
from agent.store import screened
from agent.store.connection import Store
from agent.store.errors import StoreError
from agent.store.models import OpState
from agent.sync.calls import ApiCaller
from agent.sync.context_pull import ContextPuller
from agent.sync.pull import Progress, Puller, PullReport
from agent.sync.push import LEASE_SECONDS, Pusher, PushReport
from agent.sync.reconcile import Reconciler
from agent.sync.visit_pull import VisitPuller

log = logging.getLogger(__name__)
BATCHES_IN_FLIGHT = 2


@dataclass
class SyncReport:
    reconciled: int = 0
    pull: PullReport | None = None
    push: PushReport = field(default_factory=PushReport)
    api_calls: int = 0
    error: str | None = None
    finished_at: float = 0.0
    # The pull (or some of its parts: "TicketNotes: ...") failed, or still waits for its retry
    # after failing; when it (the first of those parts) may run again (wall seconds).
    pull_error: str | None = None
    pull_retry_at: float | None = None
    store_condition: str | None = None  # the disk refused a write (full, read-only, ...)
    # Records from Autotask the client skipped (or kept with a clamped marker) in this round.
    screened: list[RecordProblem] = field(default_factory=list)


class SyncEngine:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        caller: ApiCaller,
        clock: Clock,
        technician_resource_id: int,
        *,
        owner: str,
        strategy: str | None = None,
        progress: Progress | None = None,
        on_report: Callable[[SyncReport], None] | None = None,
    ) -> None:
        self.store, self.outbox, self.caller, self.clock = store, outbox, caller, clock
        self.reconciler = Reconciler(
            store,
            outbox,
            clock,
            self._lookup,
            technician_resource_id,
            current_skew=caller.client.session.skew_now,
        )
        self.pusher = Pusher(store, outbox, caller, clock, settle=self._settle)
        self.reconciler.busy = self._uploading
        self.reconciler.holds_file = self._holds_file
        self.puller = Puller(store, outbox, caller, clock, technician_resource_id, progress)
        self.puller.late = self.pusher.late
        self.puller.after.append(VisitPuller(self.puller))
        self.puller.after.append(ContextPuller(self.puller))
        self.dispatcher = Dispatcher(
            outbox,
            owner,
            lease_seconds=LEASE_SECONDS,
            sizer=BatchSizer(size=100),
            strategy=strategy,
        )
        self.on_report = on_report
        self.progress = progress
        self.pusher.on_done = self._sent_one
        self._sending = (0, 0)  # operations handled and to handle in this round's push
        self._reconciled = False
        self._first_round = True
        self._lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.paused = False
        self.last_report: SyncReport | None = None
        self.last_success_at: float | None = None
        self.pull_schedule = RetrySchedule()
        self._slowest_call = 0.0  # since the batch size was last adjusted
        noted = caller.on_call

        def note_call(endpoint: str, seconds: float) -> None:
            self._slowest_call = max(self._slowest_call, seconds)
            if noted is not None:
                noted(endpoint, seconds)

        caller.on_call = note_call

    async def _lookup(self, endpoint: str, filters: list[Any]) -> list[dict[str, Any]]:
        from agent.resilience.bulkhead import Kind

        return await self.caller.query_all(endpoint, Kind.WRITE, filters)

    async def _holds_file(self, op: Any, server_id: int) -> bool:
        uploads = self.pusher.uploads
        return uploads is not None and await uploads.holds(op, server_id)

    def _uploading(self, op_id: int) -> bool:
        uploads = self.pusher.uploads
        return uploads is not None and uploads.busy(op_id)

    async def _settle(self, op: Any) -> bool:
        try:
            settled = await self.reconciler.settle(op)
        except PipelineError as exc:
            log.info("could not settle operation %s yet: %s", op.id, exc)
            settled = False
        if not settled:  # still unknown: it stays leased until released by settle; free it
            current = await self.store.aread(lambda: self.outbox.get(op.id))
            if current is not None and current.state.value == "leased":
                await self.store.awrite(
                    lambda: self.outbox.release(
                        op.id,
                        self.clock.now().timestamp() + 5,
                        current.last_error,
                        current.error_category,
                        outcome_unknown=True,
                    )
                )
        return settled

    def needs_reconcile(self) -> None:
        """After a long outage: settle uncertain writes before sending new ones, and pull at
        the next round rather than at the end of a backoff earned while offline."""
        self._reconciled = False
        self.pull_schedule.reset()
        self.puller.parts.reset()
        # Other integrations went on while this agent was away: their use is read afresh
        # before the queued work goes out as a burst.
        self.caller.pipeline.pacer.expire_reading()

    async def sync_once(self, *, pull: bool = True, max_rounds: int = 1000) -> SyncReport:
        async with self._lock:
            report = SyncReport()
            before = self.caller.api_calls
            # The usage reading has its own schedule: a mode entered on a high reading is left
            # when usage falls, even if every call since was shed.
            await self.caller.refresh_usage()
            try:
                await self._round(report, pull=pull, max_rounds=max_rounds)
            except StoreError as exc:  # the disk refused a write (full, read-only, ...)
                report.error = report.store_condition = str(exc)
                log.warning("sync round stopped: %s", report.error)
                # The next round takes back this round's claims as after a restart: whatever may
                # have reached the server is settled before anything is sent again.
                self._first_round = True
            await self._forget_ended_failures()
            report.screened = await self._tally_screened()
            report.api_calls = self.caller.api_calls - before
            report.finished_at = self.clock.now().timestamp()
            if report.error is None and report.push.failed == 0:
                self.last_success_at = report.finished_at
            self.last_report = report
            if self.on_report is not None:
                self.on_report(report)
            return report

    async def _forget_ended_failures(self) -> None:
        """Failure findings about operations that have since ended are dropped."""
        patterns = self.caller.pipeline.patterns
        ids = [int(i) for i in patterns.op_ids() if i.isdigit()]
        if not ids:
            return

        def live() -> set[str]:
            return {str(i) for i in ids if (op := self.outbox.get(i)) is not None and op.is_live}

        try:
            still = await self.store.aread(live)
        except StoreError:
            return
        patterns.forget_ops(lambda op: op not in still)

    async def _round(self, report: SyncReport, *, pull: bool, max_rounds: int) -> None:
        """Reconcile, push, pull: a failed step is reported and the next one still runs."""
        try:
            # Every round starts by settling what is uncertain (expired leases, creates whose
            # answer was lost) *before* anything is pushed or pulled.
            # The first round after start also takes back this agent's own claims from its
            # previous life: the profile lock guarantees nobody else holds them.
            report.reconciled = await self.reconciler.run(
                held_by=self.dispatcher.owner if self._first_round else None
            )
            self._reconciled = True
            self._first_round = False
        except PipelineError as exc:
            # What could not be settled stays outcome-unknown: the push settles each such
            # create before it could send it, so the other edits may go meanwhile.
            report.error = f"{exc.category}: {exc}"
            log.info("reconciliation incomplete: %s", report.error)
        try:
            await self._push_all(report.push, max_rounds)
        except PipelineError as exc:
            report.error = f"{exc.category}: {exc}"
            log.warning("push stopped: %s", report.error)
        if pull:
            await self._pull(report)
        if self.reconciler.adopted_files and self.pusher.uploads is not None:
            # A lost upload's record adopted (its bytes confirmed): its sealed copy goes.
            self.reconciler.adopted_files = False
            await self.pusher.uploads.sweep()

    async def _pull(self, report: SyncReport) -> None:
        """Pull when due; a failure is reported and waits for its own backoff, never the push."""
        schedule = self.pull_schedule
        now = self.clock.now().timestamp()
        if not schedule.due(now):
            report.pull_error = schedule.last_error
            report.pull_retry_at = schedule.next_at
        else:
            refused_until: float | None = None
            try:
                # A create this round's push left uncertain is settled first: a pull must never
                # show a landed create beside its still-unsettled local copy.
                report.reconciled += await self._settle_uncertain()
                pulled = await self.puller.sync()
                schedule.succeed()
                if not pulled.failed:
                    report.pull = pulled
                    return
                # Some parts failed (each waits for its own backoff): the others were read.
                report.pull = pulled if pulled.pulled else None
                report.pull_error = "; ".join(f"{n}: {e}" for n, e in pulled.failed.items())
                report.pull_retry_at = pulled.retry_at
                report.error = report.error or f"pull: {report.pull_error}"
                return
            except PipelineError as exc:
                error = f"{exc.category}: {exc}"
                if not exc.attempted:  # shed or refused here: nothing reached the server
                    refused_until = exc.retry_at.timestamp() if exc.retry_at else now
            except StoreError:  # a condition of this computer, not of the pull: the round says so
                raise
            except Exception as exc:  # a bad record or the like: reported, the next round goes on
                log.exception("pull failed")
                error = f"pull failed: {type(exc).__name__}: {exc}"
            failed_at = self.clock.now().timestamp()
            report.pull_error = error
            if refused_until is not None:
                report.pull_retry_at = schedule.postpone(failed_at, error, refused_until)
                log.info("pull postponed: %s", error)
            else:
                report.pull_retry_at = schedule.fail(failed_at, error)
                wait = schedule.next_at - failed_at
                log.warning("pull failed, tried again in %.0f s: %s", wait, error)
        if report.error is None:
            report.error = f"pull: {report.pull_error}"

    async def _tally_screened(self) -> list[RecordProblem]:
        """Count the records the client's screening noted in this round (it never stops one)."""
        problems = self.caller.client.screening.take()
        if problems:
            skipped = sum(p.skipped for p in problems)
            log.warning(
                "Autotask sent %d record(s) that were skipped and %d kept with a field left out "
                "or a clamped change marker (last: %s)",
                skipped,
                len(problems) - skipped,
                problems[-1].reason,
            )
            at = self.clock.now().timestamp()
            try:
                await self.store.awrite(lambda: screened.record(problems, at))
            except StoreError as exc:  # the round reports the disk's condition already
                log.warning("could not count the skipped records: %s", exc)
        return problems

    async def _settle_uncertain(self) -> int:
        if not await self.store.aread(self.reconciler.uncertain):
            return 0
        return await self.reconciler.run()

    def _sent_one(self) -> None:
        done, total = self._sending
        done += 1
        self._sending = (done, max(total, done))
        if self.progress is not None:
            self.progress("send", *self._sending)

    async def _push_all(self, report: PushReport, max_rounds: int) -> None:
        waiting = await self.store.aread(self.outbox.counts_by_state)
        self._sending = (0, sum(waiting.get(s, 0) for s in (OpState.PENDING, OpState.LEASED)))
        try:
            await self._push_batches(report, max_rounds)
        finally:
            if self.progress is not None and self._sending[0]:
                self.progress("send_done", *self._sending)

    async def _push_batches(self, report: PushReport, max_rounds: int) -> None:
        """Claim and send batches, the next one claimed while the last is still in flight (up
        to `BATCHES_IN_FLIGHT`), so one endpoint's tail never leaves the others' slots idle.
        Order holds across them: a claim never hands out an operation while an older one on
        the same record is leased, nor a create's child before the create is done."""
        running: dict[asyncio.Task[None], tuple[float, PushReport]] = {}
        ended_well = False
        try:
            for _ in range(max_rounds):
                batches = await self.store.awrite(self.dispatcher.next_batches)
                if batches:
                    ops = [op for b in batches for op in b.ops]
                    part = PushReport()
                    task = asyncio.ensure_future(self.pusher.push_batch(ops, part))
                    running[task] = (self.clock.monotonic(), part)
                    if len(running) < BATCHES_IN_FLIGHT:
                        continue
                if not running:
                    ended_well = True
                    return
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    _, part = running.pop(task)
                    report.merge(part)
                    task.result()  # a failure ends the push (the others finish first, below)
                    self._resize(part)
            ended_well = True
        finally:
            # Never leave a batch running behind a failure: it could send what the next round
            # sends again. Each one ends, its counts are kept; the first failure is raised.
            if running:
                ended = await asyncio.gather(*running, return_exceptions=True)
                for _, part in running.values():
                    report.merge(part)
                failures = [e for e in ended if isinstance(e, Exception)]
                if failures and ended_well:
                    raise failures[0]

    def _resize(self, part: PushReport) -> None:
        """Adjust the batch size by how the batch's calls went: each call's own latency, not
        the batch's wall time (a healthy drain of hundreds of edits takes seconds at three calls
        per endpoint, and must keep its size)."""
        slowest, self._slowest_call = self._slowest_call, 0.0
        self.dispatcher.sizer.record(part.failed == 0, slowest)

    async def run(
        self, stop: asyncio.Event, interval: Callable[[], float], online: Callable[[], bool]
    ) -> None:
        """Sync every `interval()` seconds or when woken, until `stop` is set."""
        while not stop.is_set():
            if not self.paused and online():
                try:
                    await self.sync_once()
                except Exception:  # one bad round must not end the loop; it is logged
                    log.exception("sync round failed")
            self.wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
            try:
                await asyncio.wait(waiters, timeout=interval(), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
