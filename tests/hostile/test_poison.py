"""One bad record, field or picklist value, or one answer whose `Date` lies, costs only itself:
the rest of the answer is used (a dispatcher's change to another ticket arrives in that round),
the fault is counted (the `screened_record` tally), the technician's edits reach the server, and
the watermark moves only on markers the server's clock vouches for. Everything is checked on
the simulator's own records."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.store import screened
from agent.store.models import SyncCursor
from tests.hostile.app import Mode
from tests.hostile.world import HostileWorld, hostile_world
from tests.sync.engine_world import new_title_edits

DISPATCHER = "Changed by the dispatcher"


async def shown_ids(w: HostileWorld) -> list[int]:
    return sorted(t.id for t in await w.agent.my_tickets())


async def title_shown(w: HostileWorld, tid: int) -> Any:
    detail = await w.agent.ticket(tid)
    assert detail is not None
    return detail.fields["title"].value


def tally(w: HostileWorld) -> dict[str, int]:
    return w.agent.store.read(screened.summary).by_reason


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        (Mode.HUGE_NUMBER, "Tickets.estimatedHours: beyond 64 bits"),
        (Mode.DEEP_RECORD, "Tickets.userDefinedFields: nested too deeply"),
    ],
)
async def test_a_record_the_json_reader_alone_cannot_read_costs_only_its_field(
    tmp_path: Path, mode: Mode, reason: str
) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 1)
        other = next(t for t in await shown_ids(w) if t not in wanted)
        w.app.mode = mode
        w.sim.edit_ticket(other, title=DISPATCHER)
        w.clock.advance(1.0)
        for _ in range(2):  # every round, not just the first
            report = await w.sync()
            assert report.error is None and report.pull is not None, report
        assert w.app.spoiled >= 2
        assert await title_shown(w, other) == DISPATCHER
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
        assert tally(w) == {reason: 2}
        _status, why = {n: (s, r) for n, s, r in w.agent.health().checks}["server_records"]
        assert reason in why


async def test_a_picklist_value_with_a_number_for_a_label_is_left_out_and_counted(
    tmp_path: Path,
) -> None:
    async with hostile_world(tmp_path) as w:
        w.app.mode = Mode.PICKLIST_NUMBER
        report = await w.sync()
        assert w.app.spoiled >= 1
        assert report.error is None and report.pull is not None and report.pull.first_sync
        statuses = (await w.agent.picklists("Tickets"))["status"]
        assert statuses and 77 not in statuses
        complete = [v for v, label in statuses.items() if label == "Complete"]
        mine = w.my_tickets_on_server()
        open_ = {t for t in mine if w.server_ticket(t)["status"] not in complete}
        assert set(await shown_ids(w)) == open_
        counted = tally(w)
        assert counted and all(r.endswith(": not a picklist value") for r in counted)
        assert counted.get("Tickets.status: not a picklist value") == 1


@pytest.mark.parametrize("marker_ahead", [None, timedelta(hours=23)], ids=["9999", "consistent"])
async def test_a_lying_date_never_moves_the_watermark_past_a_later_change(
    tmp_path: Path, marker_ahead: timedelta | None
) -> None:
    """The pull's ticket answer is dated 23.5 hours ahead, its markers in the year 9999 (clamped:
    no watermark) or 23 hours ahead (believable by that `Date`: a watermark, dropped as soon as
    an honest answer shows it is past the server's clock)."""
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        first, other = (await shown_ids(w))[:2]
        w.sim.edit_ticket(first, title="First change")
        w.clock.advance(2.0)
        w.app.mode, w.app.marker_ahead = Mode.LYING_DATE, marker_ahead
        report = await w.sync()
        assert report.error is None and w.app.spoiled >= 1
        assert await title_shown(w, first) == "First change"  # the record itself is kept
        w.app.mode = None
        w.sim.edit_ticket(other, title=DISPATCHER)
        w.clock.advance(2.0)
        report = await w.sync()
        assert report.error is None, report
        assert await title_shown(w, other) == DISPATCHER
        stored = w.agent.store.read(lambda: SyncCursor.get(SyncCursor.entity_type == "Tickets"))
        assert stored.watermark <= w.clock.now().strftime("%Y-%m-%dT%H:%M:%S.999Z")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"priority": "high"}, "Tickets.priority: wrong type"),
        ({"companyID": 2**63}, "Tickets.companyID: beyond 64 bits"),
        ({"companyID": -4, "dueDateTime": [1]}, "Tickets.companyID: not positive"),
    ],
)
async def test_a_bad_field_of_the_edited_ticket_never_holds_back_the_edit(
    tmp_path: Path, bad: dict[str, Any], reason: str
) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        ((tid, title),) = (await new_title_edits(w, 1)).items()
        before = dict(w.server_ticket(tid))
        w.app.mode, w.app.targets, w.app.bad_fields = Mode.BAD_FIELD, frozenset({tid}), bad
        w.clock.advance(1.0)
        report = await w.sync()
        assert report.error is None and report.push.succeeded == 1 and report.push.conflicts == 0
        after = w.server_ticket(tid)
        assert after["title"] == title
        changed = {"title", "lastTrackedModificationDateTime", "lastActivityDate"}
        assert {k: v for k, v in after.items() if k not in changed} == {
            k: v for k, v in before.items() if k not in changed
        }
        assert [o.state for o in await w.ops()] == ["done"]
        assert await w.agent.conflicts() == []
        assert reason in tally(w)


async def test_an_edit_of_the_very_field_the_server_sends_unreadably_is_sent(
    tmp_path: Path,
) -> None:
    """The server's priority cannot be read (so it could not be shown in a conflict): the
    technician's priority replaces it, with the rest of the edit, and nothing else changes."""
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        tid = (await shown_ids(w))[0]
        before = dict(w.server_ticket(tid))
        prios = sorted((await w.agent.picklists("Tickets"))["priority"])
        mine = next(p for p in prios if p != before["priority"])
        await w.agent.update_ticket(tid, title="Sent anyway", priority=mine)
        w.app.mode, w.app.targets = Mode.BAD_FIELD, frozenset({tid})
        w.app.bad_fields = {"priority": "high"}
        w.clock.advance(1.0)
        report = await w.sync()
        assert report.error is None and report.push.succeeded == 1
        after = w.server_ticket(tid)
        assert (after["title"], after["priority"]) == ("Sent anyway", mine)
        assert await w.agent.conflicts() == []
        assert [o.state for o in await w.ops()] == ["done"]
        assert "Tickets.priority: wrong type" in tally(w)


async def test_a_small_lie_of_the_date_header_hides_no_later_change(tmp_path: Path) -> None:
    """An answer dated 4 minutes ahead, its markers agreeing (within the believed jitter, so
    they make the watermark): a change made just after still arrives at the next refreshes."""
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        first, other = (await shown_ids(w))[:2]
        w.sim.edit_ticket(first, title="First change")
        w.clock.advance(2.0)
        w.app.mode = Mode.LYING_DATE
        w.app.date_ahead = w.app.marker_ahead = timedelta(minutes=4)
        assert (await w.sync()).error is None and w.app.spoiled >= 1
        w.app.mode = None
        w.clock.advance(10.0)
        w.sim.edit_ticket(other, title=DISPATCHER)  # stamped before the lying watermark
        for _ in range(3):
            w.clock.advance(300.0)
            await w.sync()
        assert await title_shown(w, other) == DISPATCHER


async def test_a_record_nested_past_any_readers_depth_costs_only_that_record(
    tmp_path: Path,
) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 1)
        other = next(t for t in await shown_ids(w) if t not in wanted)
        w.app.mode, w.app.deep_levels = Mode.DEEP_RECORD, 3000
        w.sim.edit_ticket(other, title=DISPATCHER)
        w.clock.advance(1.0)
        for _ in range(2):
            report = await w.sync()
            assert report.error is None and report.pull is not None, report
        assert await title_shown(w, other) == DISPATCHER
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
        assert tally(w) == {"Tickets.record: nested too deeply to read": 2}  # once a round


async def test_an_answer_whose_only_record_is_nested_100000_levels_skips_that_record(
    tmp_path: Path,
) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 1)
        w.app.mode = Mode.DEEP_NESTING
        w.clock.advance(1.0)
        report = await w.sync()
        assert report.error is None and report.pull is not None, report
        assert tally(w) == {"Tickets.record: nested too deeply to read": 1}
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
