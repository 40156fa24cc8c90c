"""The technician's edits go first in every round: a failing pull never holds them back, and is
retried on its own backoff. Everything is counted on the simulator."""

from __future__ import annotations

from pathlib import Path

from tests.sync.engine_world import new_title_edits, world_at


async def test_a_failing_pull_does_not_hold_back_the_push(tmp_path: Path) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 3)
        w.sim.faults.error(503, route="ticketnotes/query*")  # the pull's notes refresh fails
        report = await w.sync()
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
        assert report.push.succeeded == 3
        assert report.pull_error is not None and "transient_server" in report.pull_error
        assert report.error is not None  # the round is not called a success while pulls fail
        assert [o.state for o in await w.ops() if o.state != "done"] == []


async def test_a_bad_record_in_the_pull_does_not_hold_back_the_push(tmp_path: Path) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 2)
        mine = set(await w.my_ticket_ids())
        note = next(
            n for n in w.sim.tenant.records["TicketNotes"].values() if n["ticketID"] in mine
        )
        note["id"], note["lastActivityDate"] = "not-an-id", "2099-01-01T00:00:00.000Z"
        report = await w.sync()
        for ticket, title in wanted.items():
            assert w.server_ticket(ticket)["title"] == title
        assert report.pull_error is not None and report.pull_error.startswith("TicketNotes: ")


async def test_critical_mode_holds_the_edits_in_the_reserve_until_the_others_use_falls(
    tmp_path: Path,
) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 2)
        w.use_budget(9_500)  # the tenant's other integrations used 95 % of the hour's budget
        w.clock.advance(301.0)  # the usage reading is due
        report = await w.sync()
        assert report.pull is None and report.pull_error is not None
        assert w.agent.pipeline is not None and w.agent.pipeline.mode.value == "critical"
        # past 90 % the rest is the reserve no agent spends: the edits wait, none is lost
        assert report.push.succeeded == 0
        assert all(w.server_ticket(t)["title"] != v for t, v in wanted.items())
        assert len([o for o in await w.ops() if o.state != "done"]) == len(wanted)
        w.clock.advance(3600.0)  # the others' requests leave the rolling hour
        await w.sync_until_sent(wanted, step=30.0, rounds=20)


async def test_a_failed_pull_waits_for_its_own_backoff_while_pushes_go_on(tmp_path: Path) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        tickets_read = w.counter("tickets/query*")
        notes_fault = w.sim.faults.error(503, route="ticketnotes/query*")
        report = await w.sync()
        assert notes_fault.fired == 1
        retry_at = report.pull_retry_at
        assert retry_at is not None and retry_at > w.clock.now().timestamp()
        # Edits keep coming; each round sends them at once while the pull keeps its backoff.
        waited = 0
        for round_no in range(3):
            wanted = await new_title_edits(w, 1, prefix=f"Round {round_no}")
            w.clock.advance(0.001)
            started = w.clock.now().timestamp()
            report = await w.sync()
            ((tid, title),) = wanted.items()
            assert w.server_ticket(tid)["title"] == title
            assert report.pull_error is not None
            if started < retry_at:
                waited += 1
                assert notes_fault.fired == 1  # not hammered
                assert report.pull_error.startswith("TicketNotes: ")
        assert waited >= 1
        reads_before = tickets_read.fired
        w.sim.faults.remove(notes_fault)
        w.clock.advance(3600.0)  # past any backoff
        report = await w.sync()
        assert report.pull is not None and report.pull_error is None and report.error is None
        assert tickets_read.fired > reads_before  # the refresh really ran again
        w.sim.edit_ticket((await w.my_ticket_ids())[0], title="Changed by the dispatcher")
        w.clock.advance(1.0)
        await w.sync()
        assert any(
            t.title == "Changed by the dispatcher" for t in await w.agent.my_tickets()
        )  # the watermarks still find the server's later changes


async def test_a_create_whose_answer_was_lost_is_settled_before_the_pull_shows_it(
    tmp_path: Path,
) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        tid = (await w.my_ticket_ids())[0]
        lists = await w.agent.picklists("TicketNotes")
        await w.agent.add_note(
            tid,
            "Replaced the fuser unit",
            title="Parts",
            note_type=min(lists["noteType"]),
            publish=min(lists["publish"]),
        )
        w.sim.faults.drop_response(route="*notes", verb="POST", count=1)
        await w.sync()
        notes = [
            n
            for n in w.sim.dump()["TicketNotes"].values()
            if n["description"] == "Replaced the fuser unit"
        ]
        assert len(notes) == 1  # it landed once, though its answer was lost
        detail = await w.agent.ticket(tid)
        assert detail is not None
        shown = [n for n in detail.notes if n.description == "Replaced the fuser unit"]
        assert len(shown) == 1, shown  # never the landed copy beside the unsettled local one


async def test_a_target_the_query_answers_unreadably_waits_and_never_spins(
    tmp_path: Path,
) -> None:
    """The server answers one edited ticket's id as text in the merge's query, yet a GET by id
    finds it: that edit waits (longer each time) while the others go, and the round ends."""
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 3)
        bad, *good = list(wanted)
        w.sim.tenant.records["Tickets"][bad]["id"] = "abc"
        queries = w.counter("tickets/query*")
        report = await w.sync()
        for ticket in good:
            assert w.server_ticket(ticket)["title"] == wanted[ticket]
        assert queries.fired <= 3, queries.fired  # not one query per push loop turn
        waiting = [o for o in await w.ops() if o.state == "pending"]
        assert len(waiting) == 1 and waiting[0].next_attempt_at > w.clock.now().timestamp()
        assert report.push.succeeded == 2
