"""Pull of what a technician needs at hand on a visit: the parts used on each cached ticket
(`TicketCharges`), the product list parts are picked from (`Products`), and, for each company
of a cached ticket, all its contacts and its configuration items (devices). Kept in the cache
(`CachedEntity`) with their parent in `VisitIndex`, so they read offline.

A charge or device deleted in Autotask, and a product no longer active, leave the cache unless
a change of it still waits to be sent; a contact leaves only the company's list (the ticket
pull keeps each ticket's own contact).

It runs after the ticket pull, every `REFRESH_S` seconds, and at once after a charge was sent
(so the server's own figures, such as the billable amount, come back in the same round). The
products, the charges, the contacts and the devices are parts of their own
(`agent.sync.parts`): one that fails keeps its last index and is read again after its own
backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agent.autotask.queries import and_, chunked_in, eq, gt
from agent.resilience.bulkhead import Kind
from agent.store.models import CachedEntity, OutboxOp, OverlayValue, SyncCursor, VisitIndex
from agent.sync import localview

if TYPE_CHECKING:
    from agent.sync.pull import Puller, PullReport

log = logging.getLogger(__name__)

CHARGES, PRODUCTS, DEVICES, CONTACTS = "TicketCharges", "Products", "ConfigurationItems", "Contacts"
CURSOR = "VisitContext"
# The tenant's default charge type and status, as one cached record (id 0).
CHARGE_DEFAULTS = "Defaults:TicketCharges"
DEFAULTED = ("chargeType", "status")
REFRESH_S = 900.0


class ContextPuller:
    """Runs after `Puller.sync` (registered as one of its `after` steps)."""

    def __init__(self, puller: Puller) -> None:
        self.puller = puller
        self.store, self.caller, self.clock = puller.store, puller.caller, puller.clock

    def due(self) -> bool:
        """Never read, `REFRESH_S` passed, or a charge went out since the last read."""

        def run() -> bool:
            row = SyncCursor.get_or_none(SyncCursor.entity_type == CURSOR)
            last = None if row is None else row.last_refresh_at
            if last is None or self.clock.now().timestamp() - last >= REFRESH_S:
                return True
            sent = OutboxOp.select(OutboxOp.id).where(
                (OutboxOp.entity_type == CHARGES) & (OutboxOp.updated_at >= last)
            )
            return bool(sent.exists())

        return bool(self.store.read(run))

    async def __call__(self, report: PullReport) -> None:
        if self.due():
            await self.pull(report)
            return
        for name, part in self._parts(report).items():  # a failed part, once its backoff passed
            if self.puller.parts.retry_due(name):
                await self.puller.parts.run(name, report, part)

    def _parts(self, report: PullReport) -> dict[str, Callable[[], Awaitable[None]]]:
        """Each read on its own: one that fails costs only itself (`agent.sync.parts`)."""
        return {
            PRODUCTS: lambda: self._products(report),
            CHARGES: lambda: self._charges(report),
            CONTACTS: lambda: self._of_companies(CONTACTS, report),
            DEVICES: lambda: self._of_companies(DEVICES, report),
        }

    async def pull(self, report: PullReport) -> None:
        for name, part in self._parts(report).items():
            await self.puller.parts.run(name, report, part)
        at = self.clock.now().timestamp()
        await self.store.awrite(lambda: _refreshed(at))

    async def _charge_lists(self) -> None:
        lists = await self.caller.call(
            CHARGES, Kind.METADATA, lambda: self.caller.client.picklists(CHARGES)
        )
        simple = {
            name: {int(v.value): v.label for v in values if v.is_active and _whole(v.value)}
            for name, values in lists.items()
        }
        defaults: dict[str, Any] = {"id": 0}
        for name in DEFAULTED:
            active = [v for v in lists.get(name, []) if v.is_active and _whole(v.value)]
            chosen = next((v for v in active if v.is_default), active[0] if active else None)
            defaults[name] = None if chosen is None else int(chosen.value)
        now = self.clock.now().timestamp()

        def save() -> None:
            localview.save_picklists(CHARGES, simple, now)
            localview.cache_put(CHARGE_DEFAULTS, defaults, now, None)

        await self.store.awrite(save)

    async def _products(self, report: PullReport) -> None:
        products = await self.caller.query_all(PRODUCTS, Kind.READ, eq("isActive", True))
        await self.puller.store_records(PRODUCTS, products, report)
        rows = [_row(PRODUCTS, r, None) for r in products]
        await self.store.awrite(
            lambda: _index(PRODUCTS, rows, VisitIndex.entity_type == PRODUCTS, uncache=True)
        )

    async def _charges(self, report: PullReport) -> None:
        """The charge picklists and defaults, and the charges of every cached ticket."""
        await self._charge_lists()
        tickets = sorted(await self.store.aread(self.puller.cached_ids))
        charges: list[dict[str, Any]] = []
        for chunk in chunked_in("ticketID", tickets, size=499):
            charges += await self.caller.query_all(CHARGES, Kind.READ, chunk)
        await self.puller.store_records(CHARGES, charges, report)
        rows = [_row(CHARGES, r, "ticketID") for r in charges]
        where = (VisitIndex.entity_type == CHARGES) & VisitIndex.parent_id.in_(tickets)
        await self.store.awrite(lambda: _index(CHARGES, rows, where, uncache=True, parents=tickets))

    async def _of_companies(self, entity: str, report: PullReport) -> None:
        """All the contacts (or devices) of each company of a cached ticket."""
        tickets = sorted(await self.store.aread(self.puller.cached_ids))
        companies = sorted(await self.store.aread(lambda: _companies(tickets)))
        found: list[dict[str, Any]] = []
        for chunk in chunked_in("companyID", companies, size=499):
            found += await self.caller.query_all(entity, Kind.READ, and_(chunk, gt("id", 0)))
        await self.puller.store_records(entity, found, report)
        rows = [_row(entity, r, "companyID") for r in found]
        where = (VisitIndex.entity_type == entity) & VisitIndex.parent_id.in_(companies)
        # A contact leaves only the company's list: the ticket pull keeps each ticket's own.
        uncache = entity != CONTACTS
        await self.store.awrite(
            lambda: _index(entity, rows, where, uncache=uncache, parents=companies)
        )


def _whole(value: Any) -> bool:
    try:
        return float(value) == int(float(value))
    except (TypeError, ValueError):
        return False


def _companies(tickets: list[int]) -> set[int]:
    """The companies of the cached tickets (runs inside a store read)."""
    out: set[int] = set()
    for row in CachedEntity.select(
        CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
    ).where((CachedEntity.entity_type == "Tickets") & CachedEntity.entity_id.in_(tickets)):
        company = row.data.get("companyID")
        if isinstance(company, int) and not isinstance(company, bool):
            out.add(company)
    return out


def _row(entity: str, record: dict[str, Any], parent_field: str | None) -> dict[str, Any]:
    parent = record.get(parent_field) if parent_field else None
    return {
        "entity_type": entity,
        "entity_id": int(record["id"]),
        "parent_id": parent if isinstance(parent, int) and not isinstance(parent, bool) else None,
        "starts_at": None,
        "ends_at": None,
    }


def _index(
    entity: str,
    rows: list[dict[str, Any]],
    where: Any,
    *,
    uncache: bool,
    parents: list[int] | None = None,
) -> None:
    """Replace the index of `entity` under `where` (every product; the charges of the tickets
    read; the contacts or devices of the companies read) with `rows`."""
    _forget(entity, where, rows, uncache=uncache, parents=parents)
    for row in rows:
        VisitIndex.insert(**row).on_conflict(
            conflict_target=[VisitIndex.entity_type, VisitIndex.entity_id],
            preserve=[VisitIndex.parent_id, VisitIndex.starts_at, VisitIndex.ends_at],
        ).execute()


def _refreshed(at: float) -> None:
    SyncCursor.insert(entity_type=CURSOR, last_refresh_at=at).on_conflict(
        conflict_target=[SyncCursor.entity_type], update={SyncCursor.last_refresh_at: at}
    ).execute()


def _forget(
    entity: str,
    where: Any,
    rows: list[dict[str, Any]],
    *,
    uncache: bool,
    parents: list[int] | None = None,
) -> None:
    """Index rows of `entity` no longer read; with `uncache`, their cached records too, unless
    a change of one still waits to be sent."""
    keep = {r["entity_id"] for r in rows if r["entity_type"] == entity}
    indexed = [int(r.entity_id) for r in VisitIndex.select(VisitIndex.entity_id).where(where)]
    if entity == CHARGES and parents:  # a charge created here is cached before the pull indexes it
        read = set(parents)
        indexed += [
            int(r.entity_id)
            for r in CachedEntity.select(
                CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
            ).where(CachedEntity.entity_type == CHARGES)
            if r.data.get("ticketID") in read
        ]
    gone = sorted({i for i in indexed if i not in keep})
    if not gone:
        return
    VisitIndex.delete().where(
        (VisitIndex.entity_type == entity) & VisitIndex.entity_id.in_(gone)
    ).execute()
    if not uncache:
        return
    pending = {
        int(r.entity_key)
        for r in OverlayValue.select(OverlayValue.entity_key).where(
            (OverlayValue.entity_type == entity)
            & OverlayValue.entity_key.in_([str(i) for i in gone])
        )
    }
    CachedEntity.delete().where(
        (CachedEntity.entity_type == entity)
        & CachedEntity.entity_id.in_([i for i in gone if i not in pending])
    ).execute()
    log.info("%d %s left the cache", len(gone), entity)
