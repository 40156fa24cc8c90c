"""A damaged database gives back the running timer and the stopped ones with the rest of the
unsent work: time the technician has not logged yet is not lost with the file."""

from __future__ import annotations

from pathlib import Path

from tests.store.salvage_world import new_world


async def test_a_salvaged_database_keeps_the_running_timer_and_its_drafts(tmp_path: Path) -> None:
    world = new_world(tmp_path)
    agent = await world.open()
    try:
        assert (await agent.sync_now()).error is None
        first, second = [t.id for t in await agent.my_tickets()][:2]
        await agent.start_timer(first)
        world.clock.advance(1200)
        await agent.start_timer(second, switch=True)
        before = await agent.timer()
    finally:
        await agent.close()
    assert before.running is not None and len(before.drafts) == 1
    raw = bytearray(world.database.read_bytes())
    raw[:100] = bytes(100)  # the header gone: SQLite calls the file damaged
    world.database.write_bytes(bytes(raw))
    agent = await world.open()
    try:
        assert agent.profile.recovery is not None
        assert (await agent.sync_now()).error is None  # cached records come afresh
        assert await agent.timer() == before
        draft = await agent.stop_timer()
        assert (draft.ticket_id, draft.started_at) == (second, before.running.started_at)
    finally:
        await agent.close()
