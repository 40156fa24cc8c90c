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
from typing import TYPE_CHECKING, Any

from agent.autotask.queries import and_, chunked_in, eq, gt
from agent.resilience.bulkhead import Kind
from agent.store.models import CachedEntity, VisitIndex
from agent.sync import localview
from agent.sync.index_rows import child_row, forget, put
from agent.sync.parts import Part, PartedStep

if TYPE_CHECKING:
    from agent.sync.pull import PullReport

log = logging.getLogger(__name__)

CHARGES, PRODUCTS, DEVICES, CONTACTS = "TicketCharges", "Products", "ConfigurationItems", "Contacts"
CURSOR = "VisitContext"
# The tenant's default charge type and status, as one cached record (id 0).
CHARGE_DEFAULTS = "Defaults:TicketCharges"
DEFAULTED = ("chargeType", "status")
REFRESH_S = 900.0


class ContextPuller(PartedStep):
    """Runs after `Puller.sync` (registered as one of its `after` steps)."""

    CURSOR, REFRESH_S, WRITES = CURSOR, REFRESH_S, (CHARGES,)

    def parts(self, report: PullReport) -> dict[str, Part]:
        return {
            PRODUCTS: lambda: self._products(report),
            CHARGES: lambda: self._charges(report),
            CONTACTS: lambda: self._of_companies(CONTACTS, report),
            DEVICES: lambda: self._of_companies(DEVICES, report),
        }

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
        rows = [child_row(PRODUCTS, r, None) for r in products]
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
        rows = [child_row(CHARGES, r, "ticketID") for r in charges]
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
        rows = [child_row(entity, r, "companyID") for r in found]
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
    also: list[int] = []
    if entity == CHARGES and parents:  # a charge created here is cached before the pull indexes it
        read = set(parents)
        also = [
            int(r.entity_id)
            for r in CachedEntity.select(
                CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
            ).where(CachedEntity.entity_type == CHARGES)
            if r.data.get("ticketID") in read
        ]
    forget(entity, where, rows, uncache=uncache, also=also)
    put(rows)
