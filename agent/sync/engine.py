"""The sync loop: reconcile what is uncertain, pull what changed, push what is queued, repeat.

One `SyncEngine` per profile. `sync_once` is a full round (used by `autotask-agent sync` and by
tests); `run` repeats it every `interval` seconds, at once when woken (an edit, "Sync now", the
network coming back), and not at all while paused or working offline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.clock import Clock
from agent.queue.batching import BatchSizer, Dispatcher
from agent.queue.outbox import Outbox
from agent.resilience.pipeline import PipelineError
from agent.store.connection import Store
from agent.store.errors import StoreError
from agent.sync.calls import ApiCaller
from agent.sync.pull import Progress, Puller, PullReport
from agent.sync.push import LEASE_SECONDS, Pusher, PushReport
from agent.sync.reconcile import Reconciler

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    reconciled: int = 0
    pull: PullReport | None = None
    push: PushReport = field(default_factory=PushReport)
    api_calls: int = 0
    error: str | None = None
    finished_at: float = 0.0
    store_condition: str | None = None  # the disk refused a write (full, read-only, ...)


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
        self.reconciler = Reconciler(store, outbox, clock, self._lookup, technician_resource_id)
        self.pusher = Pusher(store, outbox, caller, clock, settle=self._settle)
        self.puller = Puller(store, outbox, caller, clock, technician_resource_id, progress)
        self.dispatcher = Dispatcher(
            outbox,
            owner,
            lease_seconds=LEASE_SECONDS,
            sizer=BatchSizer(size=100),
            strategy=strategy,
        )
        self.on_report = on_report
        self._reconciled = False
        self._first_round = True
        self._lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.paused = False
        self.last_report: SyncReport | None = None
        self.last_success_at: float | None = None

    async def _lookup(self, endpoint: str, filters: list[Any]) -> list[dict[str, Any]]:
        from agent.resilience.bulkhead import Kind

        return await self.caller.query_all(endpoint, Kind.WRITE, filters)

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
        """After a long outage: settle uncertain writes before sending new ones."""
        self._reconciled = False

    async def sync_once(self, *, pull: bool = True, max_rounds: int = 1000) -> SyncReport:
        async with self._lock:
            report = SyncReport()
            before = self.caller.api_calls
            try:
                # Every round starts by settling what is uncertain (expired leases, creates whose
                # answer was lost) *before* pulling: a pull must never show a landed create
                # beside its still-unsettled local copy.
                # The first round after start also takes back this agent's own claims from its
                # previous life: the profile lock guarantees nobody else holds them.
                report.reconciled = await self.reconciler.run(
                    held_by=self.dispatcher.owner if self._first_round else None
                )
                self._reconciled = True
                self._first_round = False
                if pull:
                    report.pull = await self.puller.sync()
                await self._push_all(report.push, max_rounds)
            except PipelineError as exc:
                report.error = f"{exc.category}: {exc}"
                log.warning("sync round stopped: %s", report.error)
            except StoreError as exc:  # the disk refused a write (full, read-only, ...)
                report.error = report.store_condition = str(exc)
                log.warning("sync round stopped: %s", report.error)
                # The next round takes back this round's claims as after a restart: whatever may
                # have reached the server is settled before anything is sent again.
                self._first_round = True
            report.api_calls = self.caller.api_calls - before
            report.finished_at = self.clock.now().timestamp()
            if report.error is None and report.push.failed == 0:
                self.last_success_at = report.finished_at
            self.last_report = report
            if self.on_report is not None:
                self.on_report(report)
            return report

    async def _push_all(self, report: PushReport, max_rounds: int) -> None:
        for _ in range(max_rounds):
            batches = await self.store.awrite(self.dispatcher.next_batches)
            if not batches:
                return
            ops = [op for b in batches for op in b.ops]
            started = self.clock.monotonic()
            failed_before = report.failed
            await self.pusher.push_batch(ops, report)
            self.dispatcher.sizer.record(
                report.failed == failed_before, self.clock.monotonic() - started
            )

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
