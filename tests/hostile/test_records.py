"""A server that answers with bad records (ids beyond 64 bits, negative ids, markers in the year
9999, wrong types): every round completes, the technician's edits still go out in it, the bad
records are skipped and counted, and the watermark stays sound, so a later real change on the
server is pulled in the next round. Everything is counted on the simulator's own records."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from agent.autotask.screening import MAX_ID
from agent.monitor.diagnostics import build_diagnostics
from agent.store.models import SyncCursor
from tests.hostile.app import FAR_FUTURE, Mode
from tests.hostile.world import HostileWorld, hostile_world
from tests.sync.engine_world import new_title_edits

SPOILED_RECORDS = [Mode.HUGE_ID, Mode.NEGATIVE_ID, Mode.FAR_FUTURE, Mode.WRONG_TYPES]


async def a_later_change_is_pulled(w: HostileWorld, untouched: int) -> None:
    """The dispatcher changes a ticket on the server; the next round shows it."""
    w.sim.edit_ticket(untouched, title="Changed by the dispatcher")
    w.clock.advance(1.0)
    report = await w.sync()
    assert report.error is None, report
    detail = await w.agent.ticket(untouched)
    assert detail is not None and detail.fields["title"].value == "Changed by the dispatcher"


async def shown_ids(w: HostileWorld) -> set[int]:
    return {t.id for t in await w.agent.my_tickets()}


@pytest.mark.parametrize("mode", SPOILED_RECORDS)
async def test_a_bad_record_is_skipped_and_the_round_goes_on(tmp_path: Path, mode: Mode) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        before = await shown_ids(w)
        wanted = await new_title_edits(w, 2)
        untouched = sorted(before - set(wanted))[0]
        w.app.mode = mode
        w.clock.advance(1.0)
        report = await w.sync()
        assert w.app.spoiled >= 1
        # The edits went out in this very round: the simulator has them.
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
        assert report.push.succeeded == 2
        assert [o.state for o in await w.ops() if o.state != "done"] == []
        # The pull completed too, around the bad records.
        assert report.error is None and report.pull is not None, report
        # Nothing bad is shown, nothing real is lost.
        shown = await shown_ids(w)
        assert all(0 < tid <= MAX_ID for tid in shown)
        assert before <= shown <= set(w.sim.dump()["Tickets"])
        await a_later_change_is_pulled(w, untouched)
        assert report.screened  # and the bad records were noted


async def test_a_far_future_marker_never_becomes_the_watermark(tmp_path: Path) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        w.app.mode = Mode.FAR_FUTURE
        (tid,) = await new_title_edits(w, 1)
        w.clock.advance(1.0)
        await w.sync()
        stored = w.agent.store.read(lambda: SyncCursor.get(SyncCursor.entity_type == "Tickets"))
        assert stored.watermark is not None and not stored.watermark.startswith("9999")
        assert stored.watermark <= w.clock.now().strftime("%Y-%m-%dT%H:%M:%S.999Z")
        detail = await w.agent.ticket(tid)
        assert detail is not None  # the record whose marker was spoiled is still shown


async def test_a_far_future_watermark_stored_earlier_is_dropped(tmp_path: Path) -> None:
    """A profile whose watermark an older version took from a bad record pulls again."""
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        w.agent.store.write(
            lambda: (
                SyncCursor.update(watermark=FAR_FUTURE)
                .where(SyncCursor.entity_type == "Tickets")
                .execute()
            )
        )
        untouched = sorted(await shown_ids(w))[0]
        await a_later_change_is_pulled(w, untouched)


async def test_a_first_sync_among_bad_records_of_every_entity_completes(tmp_path: Path) -> None:
    async with hostile_world(tmp_path) as w:
        w.app.entities = None  # tickets, notes, time entries, companies, contacts, resources, roles
        w.app.mode = Mode.WRONG_TYPES
        report = await w.sync()
        assert report.error is None and report.pull is not None and report.pull.first_sync
        assert {p.entity for p in report.screened} >= {
            "Resources",
            "ResourceRoles",
            "Tickets",
            "TicketNotes",
            "Companies",
            "Contacts",
        }
        statuses = (await w.agent.picklists("Tickets"))["status"]
        (complete,) = [v for v, label in statuses.items() if label == "Complete"]
        mine = w.my_tickets_on_server()
        assert await shown_ids(w) == {t for t in mine if w.server_ticket(t)["status"] != complete}


async def test_skipped_records_are_counted_on_the_health_page_and_in_diagnostics(
    tmp_path: Path,
) -> None:
    async with hostile_world(tmp_path / "profile") as w:
        assert (await w.sync()).error is None
        checks = {name: (status, why) for name, status, why in w.agent.health().checks}
        assert checks["server_records"][0] == "ok"
        w.app.mode = Mode.HUGE_ID
        w.sim.edit_ticket(sorted(await shown_ids(w))[0], title="Changed by the dispatcher")
        w.clock.advance(1.0)
        report = await w.sync()
        skipped = len(report.screened)
        assert skipped >= 1
        status, why = {n: (s, r) for n, s, r in w.agent.health().checks}["server_records"]
        assert status == "degraded"
        assert f"{skipped} record(s) from Autotask skipped" in why
        assert "Tickets.id: beyond 64 bits" in why
        title = w.server_ticket(sorted(await shown_ids(w))[0])["title"]
        zipped = build_diagnostics(w.agent.profile, tmp_path / "diagnostics.zip")
        with zipfile.ZipFile(zipped) as bundle:
            text = bundle.read("server_records.json").decode()
        tally = json.loads(text)
        assert tally["skipped"] == skipped
        assert tally["last_reason"] == "Tickets.id: beyond 64 bits"
        assert str(2**64 + 7) not in text and title not in text  # names, never values
        # The tally outlives a restart; once the server answers well the check is ok again.
        w.app.mode = None
        await w.reopen()
        await w.sync()
        status, why = {n: (s, r) for n, s, r in w.agent.health().checks}["server_records"]
        assert status == "ok" and f"{skipped} record(s) from Autotask skipped" in why


async def test_a_create_answered_with_an_id_beyond_64_bits_is_settled_once(tmp_path: Path) -> None:
    """The note landed but its answer names no usable id: reconciliation finds the real record
    (and its real id) instead of the round failing on the number."""
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        tid = sorted(await shown_ids(w))[0]
        lists = await w.agent.picklists("TicketNotes")
        await w.agent.add_note(
            tid,
            "Replaced the fuser unit",
            title="Parts",
            note_type=min(lists["noteType"]),
            publish=min(lists["publish"]),
        )
        w.app.mode = Mode.HUGE_ITEM_ID
        await w.sync()
        w.app.mode = None
        for _ in range(5):
            w.clock.advance(60.0)
            await w.sync()
        landed = [
            nid
            for nid, n in w.sim.dump()["TicketNotes"].items()
            if n["description"] == "Replaced the fuser unit"
        ]
        assert len(landed) == 1  # once, never sent again
        assert [o.state for o in await w.ops()] == ["done"]
        (item,) = await w.ops()  # and what the queue says of it is true: nothing is retried
        assert item.last_error is None or "retried" not in item.last_error, item.last_error
        detail = await w.agent.ticket(tid)
        assert detail is not None
        shown = [n for n in detail.notes if n.description == "Replaced the fuser unit"]
        assert [n.key for n in shown] == [str(nid) for nid in landed]


async def test_picklist_values_that_are_not_numbers_are_left_out(tmp_path: Path) -> None:
    async with hostile_world(tmp_path) as w:
        w.app.mode = Mode.PICKLIST_TEXT
        report = await w.sync()
        assert w.app.spoiled >= 1
        assert report.error is None and report.pull is not None and report.pull.first_sync
        statuses = (await w.agent.picklists("Tickets"))["status"]
        assert statuses and "Bogus" not in statuses.values()
        assert await shown_ids(w)
