"""Text from the server that cannot be written as UTF-8 (a lone surrogate, sent as the JSON
escape `\\ud800`) costs only the field holding it: the field is left out and counted like any
other unreadable field, the rest of the record and of the answer is stored, and the round goes
on. The same text in a picklist label, a field name or an error message never stops anything.
Everything is checked on the simulator's own records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.store import screened
from tests.hostile.app import Mode
from tests.hostile.world import HostileWorld, hostile_world
from tests.sync.engine_world import new_title_edits

LONE = "lone \ud800 surrogate"
DISPATCHER = "Changed by the dispatcher"


def encodable(value: Any) -> bool:
    """Whether `value` (any JSON value) can be written as UTF-8 everywhere inside."""
    try:
        repr(value).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def tally(w: HostileWorld) -> dict[str, int]:
    return w.agent.store.read(screened.summary).by_reason


async def shown_ids(w: HostileWorld) -> list[int]:
    return sorted(t.id for t in await w.agent.my_tickets())


async def title_shown(w: HostileWorld, tid: int) -> Any:
    detail = await w.agent.ticket(tid)
    assert detail is not None
    return detail.fields["title"].value


async def test_a_title_with_a_lone_surrogate_costs_only_that_field(tmp_path: Path) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        bad, other = (await shown_ids(w))[:2]
        wanted = await new_title_edits(w, 1)
        w.sim.edit_ticket(bad, title=LONE)
        w.sim.edit_ticket(other, title=DISPATCHER)
        w.clock.advance(1.0)
        for _ in range(2):  # every round, not just the first
            report = await w.sync()
            assert report.error is None and report.pull is not None, report
            w.clock.advance(1.0)
        assert await title_shown(w, other) == DISPATCHER
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
        assert tally(w).get("Tickets.title: not valid text", 0) >= 1
        assert bad in await shown_ids(w)  # the record is kept, its title left out
        assert encodable((await w.agent.ticket(bad)).fields)  # type: ignore[union-attr]
        why = {n: r for n, _s, r in w.agent.health().checks}["server_records"]
        assert "Tickets.title: not valid text" in why


async def test_a_first_sync_with_a_lone_surrogate_stores_every_ticket(tmp_path: Path) -> None:
    async with hostile_world(tmp_path) as w:
        mine = w.my_tickets_on_server()
        bad = sorted(mine)[0]
        w.sim.edit_ticket(bad, title=LONE)
        report = await w.sync()
        assert report.error is None and report.pull is not None and report.pull.first_sync
        assert [p.reason for p in report.screened] == ["Tickets.title: not valid text"]
        statuses = (await w.agent.picklists("Tickets"))["status"]
        (complete,) = [v for v, label in statuses.items() if label == "Complete"]
        assert set(await shown_ids(w)) == {
            t for t in mine if w.server_ticket(t)["status"] != complete
        }


@pytest.mark.parametrize(
    ("entity", "bad", "reason"),
    [
        ("ticketnotes", {"description": LONE}, "TicketNotes.description: not valid text"),
        ("companies", {"companyName": LONE}, "Companies.companyName: not valid text"),
        ("tickets", {"userDefinedFields": [{"name": "Site", "value": LONE}]}, None),
        ("tickets", {"lone\ud800name": "x"}, None),
    ],
    ids=["note", "company", "nested", "field-name"],
)
async def test_a_lone_surrogate_anywhere_in_a_record_is_left_out_and_counted(
    tmp_path: Path, entity: str, bad: dict[str, Any], reason: str | None
) -> None:
    async with hostile_world(tmp_path) as w:
        w.app.entities = frozenset({entity})
        w.app.mode, w.app.bad_fields = Mode.BAD_FIELD, bad
        w.app.targets = frozenset(range(1, 100_000))  # every record of the entity
        report = await w.sync()
        assert report.error is None and report.pull is not None, report
        assert w.app.spoiled >= 1
        counted = tally(w)
        assert counted and all(r.endswith(": not valid text") for r in counted)
        assert all(encodable(r) for r in counted)
        if reason is not None:
            assert reason in counted
        assert await shown_ids(w)
        for tid in await shown_ids(w):
            detail = await w.agent.ticket(tid)
            assert detail is not None and encodable(detail)


async def test_a_picklist_label_with_a_lone_surrogate_never_stops_the_pull(
    tmp_path: Path,
) -> None:
    async with hostile_world(tmp_path) as w:
        w.app.mode = Mode.PICKLIST_LONE_SURROGATE
        report = await w.sync()
        assert w.app.spoiled >= 1
        assert report.error is None and report.pull is not None and report.pull.first_sync
        statuses = (await w.agent.picklists("Tickets"))["status"]
        assert "Complete" in statuses.values() and encodable(statuses)
        assert await shown_ids(w)
        counted = tally(w)
        assert "Tickets.status: not valid text" in counted
        assert all(encodable(r) for r in counted)


async def test_an_error_message_with_a_lone_surrogate_is_kept_readable(tmp_path: Path) -> None:
    """A refusal whose text holds a lone surrogate: the edit is parked with a readable reason
    (the queue could not store the text as it came), and the next edits still go."""
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        ((tid, _title),) = (await new_title_edits(w, 1)).items()
        w.sim.faults.error(
            500, route="tickets", verb="PATCH", count=1, message=f"Rule broken: {LONE}"
        )
        w.clock.advance(1.0)
        report = await w.sync()
        assert report.store_condition is None, report
        (op,) = await w.ops()
        assert op.last_error is not None and "Rule broken" in op.last_error
        assert encodable(op.last_error)
        other = next(t for t in await shown_ids(w) if t != tid)
        await w.agent.update_ticket(other, title="Sent after")
        w.clock.advance(3600.0)
        await w.sync_until_sent({other: "Sent after"})
