"""Pull of a technician's visits: the service calls they are dispatched to and their appointments
from seven days back to fourteen ahead, the tickets worked in each call, and the checklists of
every cached ticket; kept in the cache (`CachedEntity`) with their place in `VisitIndex`.

Reads go: who is dispatched (`ServiceCallTicketResources`, by resource) -> the call's tickets
(`ServiceCallTickets`) -> the calls in the window (`ServiceCalls`), then `Appointments`, the
companies and tickets the calls name that are not cached yet, and the checklist items by ticket.
A call or appointment that left the window, or is no longer dispatched to the technician, leaves
the schedule; a checklist item deleted in Autotask leaves its ticket's list.

It runs after the ticket pull, every `REFRESH_S` seconds, and at once after a visit change was
sent (so who completed an item, and when, come back from the server in the same round). The
calls, the appointments and the checklists are parts of their own (`agent.sync.parts`): one
that fails keeps its last index and is read again after its own backoff.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agent.autotask.queries import FilterItem, and_, chunked_in, eq, gte, lte
from agent.autotask.wire import WireTypeError, parse_datetime
from agent.resilience.bulkhead import Kind
from agent.store.models import CachedEntity, VisitIndex
from agent.sync.index_rows import child_row, forget, put
from agent.sync.parts import Part, PartedStep

if TYPE_CHECKING:
    from agent.sync.pull import PullReport

log = logging.getLogger(__name__)

CALLS, LINKS, DISPATCHED = "ServiceCalls", "ServiceCallTickets", "ServiceCallTicketResources"
APPOINTMENTS, CHECKLIST = "Appointments", "TicketChecklistItems"
VISIT_WRITES = (CALLS, CHECKLIST)  # what the technician changes on a visit
CURSOR = "VisitSchedule"
BACK, AHEAD = timedelta(days=7), timedelta(days=14)
REFRESH_S = 300.0


def _instant(value: Any) -> float | None:
    try:
        when = parse_datetime(value, "time")
    except WireTypeError:
        return None
    return None if when is None else when.timestamp()


def _wire(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"))


class VisitPuller(PartedStep):
    """Runs after `Puller.sync` (registered as one of its `after` steps)."""

    CURSOR, REFRESH_S, WRITES = CURSOR, REFRESH_S, VISIT_WRITES

    def parts(self, report: PullReport) -> dict[str, Part]:
        return {
            CALLS: lambda: self._calls(report),
            APPOINTMENTS: lambda: self._appointments(report),
            CHECKLIST: lambda: self._checklists(report),
        }

    def _window(self) -> list[FilterItem]:
        now = self.clock.now()
        return [gte("startDateTime", _wire(now - BACK)), lte("startDateTime", _wire(now + AHEAD))]

    async def _calls(self, report: PullReport) -> None:
        """The calls the technician is dispatched to in the window, their links to tickets, and
        the tickets and companies they name that are not cached yet."""
        me = self.puller.me
        dispatched = await self.caller.query_all(DISPATCHED, Kind.READ, eq("resourceID", me))
        link_ids = sorted({int(d["serviceCallTicketID"]) for d in dispatched})
        links: list[dict[str, Any]] = []
        for chunk in chunked_in("id", link_ids):
            links += await self.caller.query_all(LINKS, Kind.READ, chunk)
        call_ids = sorted({int(link["serviceCallID"]) for link in links})
        calls: list[dict[str, Any]] = []
        for chunk in chunked_in("id", call_ids):
            calls += await self.caller.query_all(CALLS, Kind.READ, and_(chunk, *self._window()))
        kept_calls = {int(c["id"]) for c in calls}
        links = [link for link in links if int(link["serviceCallID"]) in kept_calls]
        await self.puller.store_records(CALLS, calls, report)
        await self.puller.store_records(LINKS, links, report)
        await self.store.awrite(lambda: _index_calls(calls, links))
        cached = set(await self.store.aread(self.puller.cached_ids))
        tickets = {link.get("ticketID") for link in links} - cached
        await self.puller.parts.run(
            "Tickets", report, lambda: self.puller.fetch_by_id("Tickets", tickets, report)
        )
        known = await self.store.aread(lambda: _cached_ids("Companies"))
        companies = {c.get("companyID") for c in calls} - known
        await self.puller.parts.run(
            "Companies", report, lambda: self.puller.fetch_by_id("Companies", companies, report)
        )

    async def _appointments(self, report: PullReport) -> None:
        appointments = await self.caller.query_all(
            APPOINTMENTS, Kind.READ, and_(eq("resourceID", self.puller.me), *self._window())
        )
        await self.puller.store_records(APPOINTMENTS, appointments, report)
        await self.store.awrite(lambda: _index_appointments(appointments))

    async def _checklists(self, report: PullReport) -> None:
        tickets = sorted(await self.store.aread(self.puller.cached_ids))
        items: list[dict[str, Any]] = []
        for chunk in chunked_in("ticketID", tickets, size=499):
            items += await self.caller.query_all(CHECKLIST, Kind.READ, chunk)
        await self.puller.store_records(CHECKLIST, items, report)
        await self.store.awrite(lambda: _index_checklists(items, set(tickets)))


def _cached_ids(entity_type: str) -> set[Any]:
    rows = CachedEntity.select(CachedEntity.entity_id).where(
        CachedEntity.entity_type == entity_type
    )
    return {int(r.entity_id) for r in rows}


def _scheduled(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "entity_type": entity,
        "entity_id": int(record["id"]),
        "parent_id": None,
        "starts_at": _instant(record.get("startDateTime")),
        "ends_at": _instant(record.get("endDateTime")),
    }


def _index_calls(calls: list[dict[str, Any]], links: list[dict[str, Any]]) -> None:
    """Replace the index of the calls and their links with what was read."""
    rows = [_scheduled(CALLS, c) for c in calls] + [
        child_row(LINKS, x, "serviceCallID") for x in links
    ]
    for entity in (CALLS, LINKS):
        _forget(entity, VisitIndex.entity_type == entity, rows)
    put(rows)


def _index_appointments(appointments: list[dict[str, Any]]) -> None:
    rows = [_scheduled(APPOINTMENTS, a) for a in appointments]
    _forget(APPOINTMENTS, VisitIndex.entity_type == APPOINTMENTS, rows)
    put(rows)


def _index_checklists(items: list[dict[str, Any]], tickets: set[int]) -> None:
    """Replace the checklists of the tickets read."""
    rows = [child_row(CHECKLIST, item, "ticketID") for item in items]
    _forget(
        CHECKLIST,
        (VisitIndex.entity_type == CHECKLIST) & VisitIndex.parent_id.in_(sorted(tickets)),
        rows,
    )
    put(rows)


def _forget(entity: str, where: Any, rows: list[dict[str, Any]]) -> None:
    forget(entity, where, rows, left="the technician's schedule")
