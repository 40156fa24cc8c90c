"""Pull: the first download of a technician's work, then incremental refresh by change markers.

First sync: picklists, resources with their roles, the technician's open tickets, those tickets'
notes and time entries, and the companies and contacts they name. Afterwards each entity type is
refreshed by its change marker (`lastTrackedModificationDateTime` and friends) above the stored
watermark, paging by id. A server change to a field with a pending local edit is flagged as a
conflict at once, before the push gets to it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.autotask.metadata import PicklistValue
from agent.autotask.queries import FilterItem, and_, chunked_in, eq, gt, noteq
from agent.autotask.screening import MAX_ID, marker_clamped
from agent.autotask.wire import WireTypeError, parse_datetime
from agent.clock import Clock
from agent.queue.operation import OpQuery
from agent.queue.outbox import Outbox
from agent.resilience.bulkhead import Kind
from agent.store.connection import Store
from agent.store.models import CachedEntity, OpKind, OpState, SyncCursor
from agent.sync import localview, outcomes
from agent.sync.calls import ApiCaller
from agent.sync.late_writes import LateWrites
from agent.sync.parts import PullParts
from agent.sync.readback import merge_with_server

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
STAGES = ("picklists", "resources", "tickets", "notes", "time entries", "companies", "contacts")


# A stored watermark later than the server's clock plus this is not a sound one: a watermark
# comes only from markers no later than the server's clock when it answered (a marker that had
# to be clamped never becomes one), so this margin only allows for jitter between Autotask's
# servers. A server whose `Date` and markers ran ahead together (a day at most is believed) and
# then came back has its watermark dropped at once, instead of hiding changes until it passes.
WATERMARK_MARGIN = timedelta(minutes=5)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID


def _mark(value: Any) -> datetime | None:
    try:
        return parse_datetime(value, "marker")
    except WireTypeError:
        return None


def _usable_mark(value: Any, credible: datetime) -> datetime | None:
    when = _mark(value)
    return when if when is not None and when <= credible else None


def _latest_mark(items: list[dict[str, Any]], marker: str) -> tuple[datetime, str] | None:
    """The latest plausible change marker of `items` (compared as times, not as text), with its
    text. A marker the client's screening had to clamp (it was later than the server's clock)
    is no evidence of how far the server has got: it never moves the watermark (the record is
    kept, and read again by the next refresh while its marker stays ahead)."""
    marks = [
        (when, str(i[marker]))
        for i in items
        if not marker_clamped(i) and (when := _mark(i.get(marker))) is not None
    ]
    return max(marks, key=lambda m: m[0]) if marks else None


@dataclass
class PullReport:
    fetched: dict[str, int] = field(default_factory=dict)
    early_conflicts: int = 0
    first_sync: bool = False
    # Each part of the pull (`agent.sync.parts`) read in this round, and each that failed or
    # waits for its backoff (with why), and when the first of those may be tried again.
    pulled: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    retry_at: float | None = None


# The parts of the first sync, in order; the first sync is done once each has been read.
FIRST_PARTS = (
    ("picklists", "Picklists"),
    ("resources", "Resources"),
    ("tickets", "Tickets"),
    ("notes", "TicketNotes"),
    ("time entries", "TimeEntries"),
    ("companies", "Companies"),
    ("contacts", "Contacts"),
)


class Puller:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        caller: ApiCaller,
        clock: Clock,
        technician_resource_id: int,
        progress: Progress | None = None,
    ) -> None:
        self.store, self.outbox, self.caller, self.clock = store, outbox, caller, clock
        self.me = technician_resource_id
        self.progress = progress or (lambda stage, done, total: None)
        # Pulls of other records that follow the tickets' (`agent.sync.visit_pull`).
        self.after: list[Callable[[PullReport], Awaitable[None]]] = []
        self.parts = PullParts(clock)
        # The push's record of writes that may still land (`agent.sync.late_writes`).
        self.late: LateWrites | None = None
        self._first_done: set[str] = set()  # parts of an unfinished first sync already read

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def has_synced(self) -> bool:
        row = self.store.read(lambda: SyncCursor.get_or_none(SyncCursor.entity_type == "Tickets"))
        return row is not None and row.last_full_sync_at is not None

    async def sync(self) -> PullReport:
        report = await (self.refresh() if self.has_synced() else self.first_sync())
        for step in self.after:
            await step(report)
        return report

    def _step(self, stage: str) -> None:
        self.progress(stage, STAGES.index(stage), len(STAGES))

    async def first_sync(self) -> PullReport:
        """Each part in turn, each on its own (a part that fails is read again at a later round,
        the others are not); the tickets' notes, time entries, companies and contacts follow
        the tickets, read from the cache."""
        report = PullReport(first_sync=True)
        done = self._first_done
        pulls: dict[str, Callable[[], Awaitable[None]]] = {
            "Picklists": self._picklists,
            "Resources": lambda: self._resources(report),
            "Tickets": lambda: self._first_tickets(report),
            "TicketNotes": lambda: self._children("TicketNotes", report),
            "TimeEntries": lambda: self._children("TimeEntries", report),
            "Companies": lambda: self._referenced_by_tickets("Companies", "companyID", report),
            "Contacts": lambda: self._referenced_by_tickets("Contacts", "contactID", report),
        }
        for stage, name in FIRST_PARTS:
            self._step(stage)
            if name in done:
                continue
            if stage in STAGES[3:] and "Tickets" not in done:
                continue  # they follow the tickets, whose failure the report already names
            if await self.parts.run(name, report, pulls[name]):
                done.add(name)
        if len(done) < len(FIRST_PARTS):
            return report
        now = self._now()
        await self.store.awrite(
            lambda: (
                SyncCursor.update(last_full_sync_at=now)
                .where(SyncCursor.entity_type == "Tickets")
                .execute()
            )
        )
        done.clear()
        self.progress("done", len(STAGES), len(STAGES))
        return report

    async def _resources(self, report: PullReport) -> None:
        resources = await self.caller.query_all("Resources", Kind.METADATA, gt("id", 0))
        roles = await self.caller.query_all("ResourceRoles", Kind.METADATA, gt("id", 0))
        by_resource: dict[int, list[int]] = {}
        for r in roles:
            if r.get("isActive", True) is not False:
                by_resource.setdefault(int(r["resourceID"]), []).append(int(r["roleID"]))
        for res in resources:
            res["roles"] = sorted(by_resource.get(int(res["id"]), []))
        await self._store("Resources", resources, report)

    async def _first_tickets(self, report: PullReport) -> None:
        tickets = await self.caller.query_all("Tickets", Kind.READ, self._my_open_tickets())
        await self._store("Tickets", tickets, report)

    async def refresh(self) -> PullReport:
        """The tickets changed since the watermark, then the notes and time entries of every
        cached ticket changed since theirs: each a part of its own."""
        report = PullReport()
        await self.parts.run("Tickets", report, lambda: self._refresh_tickets(report))
        for entity in ("TicketNotes", "TimeEntries"):
            await self.parts.run(
                entity, report, functools.partial(self._children, entity, report, True)
            )
        return report

    async def _refresh_tickets(self, report: PullReport) -> None:
        mark = self._watermark("Tickets")
        cond: list[FilterItem] = [eq("assignedResourceID", self.me)]
        if mark:
            cond.append(gt(outcomes.MARKERS["Tickets"], mark))
        tickets = await self.caller.query_all("Tickets", Kind.READ, and_(*cond))
        await self._store("Tickets", tickets, report)

    def _my_open_tickets(self) -> FilterItem:
        complete = self._complete_status()
        items: list[FilterItem] = [eq("assignedResourceID", self.me)]
        if complete is not None:
            items.append(noteq("status", complete))
        return and_(*items)

    def _complete_status(self) -> int | None:
        statuses = self.store.read(lambda: localview.picklists("Tickets")).get("status", {})
        for value, label in statuses.items():
            if label.strip().lower() in ("complete", "completed", "closed"):
                return value
        return None

    async def _picklists(self) -> None:
        for entity in ("Tickets", "TicketNotes", "TimeEntries"):
            await self._picklist(entity)

    async def _picklist(self, entity: str) -> None:
        async def fetch() -> dict[str, list[PicklistValue]]:
            return await self.caller.client.picklists(entity)

        lists = await self.caller.call(entity, Kind.METADATA, fetch)
        # Autotask's picklist values are whole numbers; any other value is left out.
        simple = {
            name: {int(v.value): v.label for v in values if v.is_active and _is_whole(v.value)}
            for name, values in lists.items()
        }
        now = self._now()
        await self.store.awrite(lambda: localview.save_picklists(entity, simple, now))

    async def _children(self, entity: str, report: PullReport, incremental: bool = False) -> None:
        """The `entity` records (notes or time entries) of every cached ticket; with
        `incremental`, those changed since the entity's watermark."""
        ticket_ids = sorted(await self.store.aread(self._cached_ids))
        mark = self._watermark(entity) if incremental else None
        found: list[dict[str, Any]] = []
        for chunk in chunked_in("ticketID", ticket_ids, size=499):
            cond: FilterItem = chunk
            if mark:
                cond = and_(chunk, gt(outcomes.MARKERS[entity], mark))
            found += await self.caller.query_all(entity, Kind.READ, cond)
        await self._store(entity, found, report)

    async def _referenced_by_tickets(self, entity: str, field: str, report: PullReport) -> None:
        """The `entity` records the cached tickets name in `field`."""

        def named() -> set[Any]:
            return {
                row.data.get(field)
                for row in CachedEntity.select(
                    CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
                ).where(CachedEntity.entity_type == "Tickets")
            }

        await self._referenced(entity, await self.store.aread(named), report)

    async def _referenced(self, entity: str, ids: set[Any], report: PullReport) -> None:
        wanted = sorted(int(i) for i in ids if isinstance(i, int) and not isinstance(i, bool))
        found: list[dict[str, Any]] = []
        for chunk in chunked_in("id", wanted):
            found += await self.caller.query_all(entity, Kind.READ, chunk)
        await self._store(entity, found, report)

    def _watermark(self, entity: str) -> str | None:
        row = self.store.read(lambda: SyncCursor.get_or_none(SyncCursor.entity_type == entity))
        if row is None or row.watermark is None:
            return None
        if _usable_mark(row.watermark, self._latest_credible()) is None:
            # Written by a version that took a server's far-future marker as it came: drop it,
            # so this refresh reads everything again and the next one pages from a sound mark.
            log.warning(
                "the stored %s watermark is past the server's clock; refreshing all", entity
            )
            return None
        # Read again what changed in the last margin before it: a watermark taken from an
        # answer whose clock ran a little ahead (within the margin believed) hides no change
        # stamped just before it on an honest clock. Re-reading a few records costs no call.
        mark = _mark(row.watermark)
        if mark is None:
            return str(row.watermark)
        return (mark - WATERMARK_MARGIN).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _latest_credible(self) -> datetime:
        """No stored watermark can be later than this (the server's clock, with a margin)."""
        return self.caller.client.server_now() + WATERMARK_MARGIN

    def _cached_ids(self) -> list[int]:
        rows = CachedEntity.select(CachedEntity.entity_id).where(
            CachedEntity.entity_type == "Tickets"
        )
        return [int(r.entity_id) for r in rows]

    async def store_records(
        self, entity: str, items: list[dict[str, Any]], report: PullReport
    ) -> None:
        """Cache `items` as `entity` records (watermark, early conflicts), as the pull does."""
        await self._store(entity, items, report)

    async def fetch_by_id(self, entity: str, ids: set[Any], report: PullReport) -> None:
        """Read and cache the `entity` records of `ids`."""
        await self._referenced(entity, ids, report)

    def cached_ids(self) -> list[int]:
        """The cached tickets' ids (runs inside a store read)."""
        return self._cached_ids()

    async def _store(self, entity: str, items: list[dict[str, Any]], report: PullReport) -> None:
        report.fetched[entity] = report.fetched.get(entity, 0) + len(items)
        if not items:
            return
        now = self._now()
        marker = outcomes.MARKERS.get(entity)
        credible = self._latest_credible()

        def save() -> int:
            conflicts = 0
            for item in items:
                localview.cache_put(entity, item, now, marker)
                conflicts += self._early_conflicts(entity, item, now)
            if marker:
                latest = _latest_mark(items, marker)
                if latest is not None:
                    row = SyncCursor.get_or_none(SyncCursor.entity_type == entity)
                    stored = None if row is None else _usable_mark(row.watermark, credible)
                    if stored is None or stored < latest[0]:
                        top = latest[1]
                        SyncCursor.insert(
                            entity_type=entity, watermark=top, last_refresh_at=now
                        ).on_conflict(
                            conflict_target=[SyncCursor.entity_type],
                            update={SyncCursor.watermark: top, SyncCursor.last_refresh_at: now},
                        ).execute()
            return conflicts

        report.early_conflicts += await self.store.awrite(save)

    def _early_conflicts(self, entity: str, theirs: dict[str, Any], now: float) -> int:
        """Flag fields of a pending update that the server has changed differently; the push
        will still send the other fields and park only these."""
        page = self.outbox.list_ops(
            OpQuery(
                states=frozenset({OpState.PENDING}),
                entity_type=entity,
                target_id=int(theirs["id"]),
                limit=50,
            )
        )
        found = 0
        for op in page.items:
            if op.kind is not OpKind.UPDATE:
                continue
            # A late write of the technician's own is no change made in Autotask.
            base = op.base if self.late is None else {**op.base, **self.late.ours(op, theirs)}
            result = merge_with_server(entity, base, op.fields, theirs)
            if result.conflicts:
                found += outcomes.flag_conflicts(
                    op, result.conflicts, now=now, theirs_read_at=now, theirs=theirs
                )
        return found
