"""One entity whose answer cannot be read costs only that entity's pull: the technician's edits
go out, every other kind of record (tickets, notes, time entries, visits, contacts) is still
pulled in the same round, the failing one is reported and waits for its own backoff, and once it
answers well again its changes arrive. Everything is checked on the simulator's own records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.cli_agent import sync_line
from agent.simulator import writes
from agent.simulator.tenant import Actor
from agent.store.models import CachedEntity
from tests.hostile.app import Mode
from tests.hostile.world import HostileWorld, hostile_world
from tests.sync.engine_world import new_title_edits

DISPATCHER = "Changed by the dispatcher"


def server_edit(w: HostileWorld, route: str, record_id: int, **fields: Any) -> None:
    """A dispatcher's change on the server (its change marker moves)."""
    body = {**fields, "id": record_id}
    writes.write(w.sim.tenant, route, "PATCH", body, Actor(w.sim.dispatcher_resource_id))


def cached(w: HostileWorld, entity: str, record_id: int) -> dict[str, Any]:
    row = w.agent.store.read(
        lambda: CachedEntity.get_or_none(
            (CachedEntity.entity_type == entity) & (CachedEntity.entity_id == record_id)
        )
    )
    return {} if row is None else dict(row.data)


def cached_ids(w: HostileWorld, entity: str) -> list[int]:
    return w.agent.store.read(
        lambda: [
            int(r.entity_id)
            for r in CachedEntity.select(CachedEntity.entity_id).where(
                CachedEntity.entity_type == entity
            )
        ]
    )


def one_of(w: HostileWorld, route: str, where: Any) -> int:
    return min(rid for rid, r in w.sim.dump()[route].items() if where(r))


# (the route spoiled, a field its pull's queries name, the entity reported)
SPOILED = [
    ("ticketnotes", "ticketID", "TicketNotes"),
    ("tickets", "assignedResourceID", "Tickets"),
    ("timeentries", "ticketID", "TimeEntries"),
]


@pytest.mark.parametrize(("route", "only_if", "entity"), SPOILED, ids=[s[2] for s in SPOILED])
async def test_an_unreadable_answer_of_one_entity_costs_only_that_entity(
    tmp_path: Path, route: str, only_if: str, entity: str
) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        mine = sorted(await w.my_ticket_ids())
        wanted = await new_title_edits(w, 2)
        ticket = next(t for t in mine if t not in wanted)
        company = w.server_ticket(ticket)["companyID"]
        changes = {  # entity -> (id, field): one server change of each kind
            "Tickets": (ticket, "title"),
            "TicketNotes": (one_of(w, "TicketNotes", lambda r: r["ticketID"] in mine), "title"),
            "TimeEntries": (
                one_of(w, "TimeEntries", lambda r: r["ticketID"] in mine),
                "summaryNotes",
            ),
            "Contacts": (one_of(w, "Contacts", lambda r: r["companyID"] == company), "title"),
            "ServiceCalls": (min(cached_ids(w, "ServiceCalls")), "description"),
        }
        for kind, (rid, name) in changes.items():
            server_edit(w, kind, rid, **{name: f"{DISPATCHER} {kind}"})
        w.app.mode, w.app.answer_entity, w.app.only_if = Mode.TRUNCATED, route, only_if
        spoiled = w.counter(f"{route}/query*")
        w.clock.advance(901.0)  # the visit and context pulls are due too
        report = await w.sync()
        assert w.app.spoiled >= 1
        assert report.push.succeeded == 2
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
        # Only the spoiled entity failed, and the round says so.
        assert report.pull is not None and report.pull_error is not None, report
        assert entity in report.pull_error
        assert all(other not in report.pull_error for other in changes if other != entity)
        line = sync_line(report)  # the command line says what was not pulled, not "stopped"
        assert f"; not pulled: {entity}: " in line and "stopped" not in line
        for kind, (rid, name) in changes.items():
            arrived = cached(w, kind, rid).get(name) == f"{DISPATCHER} {kind}"
            assert arrived is (kind != entity), kind
        # The failing one waits for its own backoff; the others are pulled meanwhile.
        asked = spoiled.fired
        server_edit(w, "Tickets", ticket, title="Later")
        w.clock.advance(1.0)
        report = await w.sync()
        assert spoiled.fired == asked and report.pull_error is not None
        assert entity in report.pull_error
        if entity != "Tickets":
            assert cached(w, "Tickets", ticket)["title"] == "Later"
        # It answers well again: after its backoff its changes arrive.
        w.app.mode = None
        w.clock.advance(3600.0)
        report = await w.sync()
        assert report.error is None and report.pull_error is None, report
        for kind, (rid, name) in changes.items():
            if kind != "Tickets":
                assert cached(w, kind, rid)[name] == f"{DISPATCHER} {kind}", kind
        assert cached(w, "Tickets", ticket)["title"] == "Later"
