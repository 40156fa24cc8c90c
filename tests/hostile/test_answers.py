"""A server whose answer to the pull cannot be read (cut in half, beyond the size cap, dripped a
few bytes at a time): the round still completes and sends the edits, the pull reports the failure
of that part and it waits for its own backoff, and once the server answers well again a later
change is pulled, with nothing lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.hostile.app import Mode
from tests.hostile.world import TINY, hostile_world
from tests.sync.engine_world import new_title_edits

# An answer whose one record is nested 100,000 levels is read record by record instead (that
# record skipped and counted: tests/hostile/test_poison.py).
UNREADABLE = [Mode.TRUNCATED, Mode.HUGE_BODY, Mode.SLOW_DRIP]


@pytest.mark.parametrize("mode", UNREADABLE)
async def test_an_unreadable_answer_fails_the_pull_never_the_round(
    tmp_path: Path, mode: Mode
) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        before = {t.id for t in await w.agent.my_tickets()}
        wanted = await new_title_edits(w, 2)
        untouched = sorted(before - set(wanted))[0]
        w.app.mode = mode
        if mode is Mode.SLOW_DRIP:
            w.short_deadlines()
        w.clock.advance(1.0)
        async with asyncio.timeout(60.0):  # a hang guard only: the deadline is proven below
            report = await w.sync()
        if mode is Mode.SLOW_DRIP:  # the client's deadline ended the call, not the drip's end
            assert w.app.drips_ended == 0
            assert report.pull_error is not None and "cannot be reached" in report.pull_error
        assert w.app.spoiled >= 1
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
        assert report.push.succeeded == 2
        # Only the tickets' part failed: the rest of the pull was read (tests/hostile/
        # test_isolation.py).
        assert report.pull_error is not None and report.pull_error.startswith("Tickets: ")
        assert report.pull is not None and "Tickets" not in report.pull.pulled
        # The server answers well again: after the pull's backoff a later change arrives.
        w.app.mode = None
        w.sim.edit_ticket(untouched, title="Changed by the dispatcher")
        w.clock.advance(3600.0)
        report = await w.sync()
        assert report.error is None, report
        detail = await w.agent.ticket(untouched)
        assert detail is not None and detail.fields["title"].value == "Changed by the dispatcher"
        assert before <= {t.id for t in await w.agent.my_tickets()}
        assert [o.state for o in await w.ops() if o.state != "done"] == []


async def test_a_foreign_zone_url_receives_no_credentials_and_loses_nothing(
    tmp_path: Path,
) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 1)
        w.app.mode = Mode.FOREIGN_ZONE
        await w.reopen()  # a new start looks the zone up again
        async with asyncio.timeout(10.0):
            report = await w.sync()
        assert w.app.foreign_requests() == []
        assert report.error is not None and report.push.succeeded == 0
        w.app.mode = None
        await w.reopen()
        w.clock.advance(3600.0)
        await w.sync()
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title


async def test_a_dripping_zone_lookup_ends_within_the_calls_deadline(tmp_path: Path) -> None:
    """The zone lookup is bounded by the deadline of the call that needs it (here ~0.3 s)."""
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 1)
        w.app.mode = Mode.SLOW_ZONE
        w.app.drip_bytes, w.app.drip_interval = 1, 0.05  # ~10 s for the whole answer
        await w.reopen()
        w.short_deadlines(TINY)
        async with asyncio.timeout(2.5):
            report = await w.sync()
        assert report.error is not None and report.push.succeeded == 0
        w.app.mode = None
        w.clock.advance(3600.0)
        await w.sync()
        for tid, title in wanted.items():
            assert w.server_ticket(tid)["title"] == title
