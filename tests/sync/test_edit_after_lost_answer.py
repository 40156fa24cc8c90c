"""An edit made after an earlier one's answer was lost: the earlier one may have landed, so the
server may hold the technician's own value, and the new edit must not be merged into it with the
older base (the merge would then read that value as Autotask's change and drop the new one).

Counted from the simulator's records: the server ends with what the technician typed last."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync.conftest import a_failed_read_after
from tests.sync.engine_world import World, world_at


async def lost_answer(w: World, tid: int, title: str) -> None:
    """`title` is written to the server and its answer is lost; the read before the retry
    fails, so the write stays uncertain and waits for its retry."""
    dropped = w.sim.faults.drop_response(route="tickets", verb="PATCH", count=1)
    a_failed_read_after(w.sim, dropped)
    await w.agent.update_ticket(tid, title=title)
    report = await w.sync()
    assert report.push.failed == 2, report
    assert w.server_ticket(tid)["title"] == title
    assert [o.state for o in await w.ops()] == ["pending"]


async def settled(w: World, tid: int, want: str, rounds: int = 20) -> None:
    for _ in range(rounds):
        w.clock.advance(600)
        await w.sync()
        if not [o for o in await w.ops() if o.state in ("pending", "leased")]:
            break
    assert w.server_ticket(tid)["title"] == want, await w.ops()


@pytest.mark.parametrize("between", ["nothing", "a round that sends nothing"])
async def test_changing_a_field_back_after_a_lost_answer_is_sent(
    tmp_path: Path, between: str
) -> None:
    async with world_at(tmp_path, seed="lost-answer") as w:
        assert (await w.sync()).error is None
        tid = (await w.my_ticket_ids())[0]
        first = w.server_ticket(tid)["title"]
        await lost_answer(w, tid, "Changed on site")
        if between == "a round that sends nothing":
            await w.sync()  # the write waits for its retry; the round starts by reconciling
        await w.agent.update_ticket(tid, title=first)  # the technician takes it back
        await settled(w, tid, first)


async def test_a_third_value_after_a_lost_answer_is_sent(tmp_path: Path) -> None:
    async with world_at(tmp_path, seed="lost-answer") as w:
        assert (await w.sync()).error is None
        tid = (await w.my_ticket_ids())[0]
        await lost_answer(w, tid, "Changed on site")
        await w.sync()
        await w.agent.update_ticket(tid, title="Changed again")
        await settled(w, tid, "Changed again")
        assert not [o for o in await w.ops() if o.state in ("parked", "conflict")]


async def test_a_value_typed_back_after_a_newer_one_ends_on_the_server(tmp_path: Path) -> None:
    """B (its answer lost), C, then B again: the server ends with B, the last word."""
    async with world_at(tmp_path, seed="lost-answer") as w:
        assert (await w.sync()).error is None
        tid = (await w.my_ticket_ids())[0]
        await lost_answer(w, tid, "Changed on site")
        await w.agent.update_ticket(tid, title="Changed again")
        await w.agent.update_ticket(tid, title="Changed on site")
        await settled(w, tid, "Changed on site")
        assert not [o for o in await w.ops() if o.state in ("parked", "conflict")]
