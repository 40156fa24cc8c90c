"""One queued change whose stored values were copied from another behind the program's back:
the program still starts, says which one cannot be read, sends every other change, and lets the
technician drop the bad one."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from agent.api.facade import Agent
from tests.e2e.conftest import open_world, options
from tests.e2e.test_sync_flow import first_sync


async def test_a_copied_operation_value_stops_only_that_operation(tmp_path: Path) -> None:
    async with open_world(tmp_path, "copied-op", 40) as world:
        ids = (await first_sync(world))[:3]
        await world.agent.set_work_offline(True)
        ops = [(await world.agent.update_ticket(t, title=f"Edit {t}")).op_id for t in ids]
        sim, clock, database = world.sim, world.clock, world.agent.profile.paths.database
    with closing(sqlite3.connect(database)) as conn:
        conn.execute(
            "UPDATE outbox_op SET fields=(SELECT fields FROM outbox_op WHERE id=?) WHERE id=?",
            (ops[0], ops[1]),
        )
        conn.commit()
    agent = await Agent.open(options(sim, clock, tmp_path))  # the start itself must not fail
    try:
        listed = {q.id: q for q in (await agent.queue_page()).items}
        assert set(listed) == set(ops)
        assert "operation #" in (listed[ops[1]].last_error or "")
        await agent.set_work_offline(False)
        await agent.sync_now()
        server = sim.dump()["Tickets"]
        assert server[ids[0]]["title"] == f"Edit {ids[0]}"
        assert server[ids[2]]["title"] == f"Edit {ids[2]}"
        assert server[ids[1]]["title"] != f"Edit {ids[1]}"  # nothing sent from the bad one
        await agent.discard(ops[1])  # the technician can drop it
        assert (await agent.status()).pending == 0
        detail = await agent.ticket(ids[1])
        assert detail is not None and not any(f.pending for f in detail.fields.values())
    finally:
        await agent.close()


async def test_a_conflict_whose_values_were_changed_on_disk_is_shown_and_can_be_ended(
    tmp_path: Path,
) -> None:
    import pytest

    from agent.sync.conflicts import ConflictError

    async with open_world(tmp_path, "copied-conflict", 40) as world:
        ids = await first_sync(world)
        tid = ids[1]
        lists = await world.agent.picklists("Tickets")
        server = world.sim.dump()["Tickets"][tid]
        mine, theirs = [p for p in sorted(lists["priority"]) if p != server["priority"]][:2]
        await world.agent.update_ticket(tid, priority=mine)
        world.sim.edit_ticket(tid, priority=theirs)
        await world.agent.sync_now()
        [conflict] = await world.agent.conflicts()
        sim, clock, database = world.sim, world.clock, world.agent.profile.paths.database
    with closing(sqlite3.connect(database)) as conn:
        conn.execute("UPDATE conflict SET theirs = mine WHERE id = ?", (conflict.id,))
        conn.commit()
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        [shown] = await agent.conflicts()  # not hidden: counted and shown with its problem
        assert shown.id == conflict.id and shown.problem and "conflict" in shown.problem
        assert (await agent.status()).conflicts == 1
        with pytest.raises(ConflictError, match="Keep Autotask's value"):
            await agent.resolve_conflict(conflict.id, "mine")
        assert await agent.resolve_all("mine") == []  # it waits; it stops no other one
        await agent.resolve_conflict(conflict.id, "theirs")
        assert await agent.conflicts() == []
        assert (await agent.status()).pending == 0
        detail = await agent.ticket(tid)
        assert detail is not None and not detail.fields["priority"].pending
        await agent.sync_now()
        assert sim.dump()["Tickets"][tid]["priority"] == theirs
    finally:
        await agent.close()


async def test_a_rotation_blocked_by_a_value_changed_on_disk_names_the_record(
    tmp_path: Path,
) -> None:
    import pytest

    from agent.security.errors import SecurityError

    async with open_world(tmp_path, "rotate-tampered", 10) as world:
        ids = await first_sync(world)
        database = world.agent.profile.paths.database
        sim, clock = world.sim, world.clock
    with closing(sqlite3.connect(database)) as conn:
        conn.execute(
            "UPDATE cached_entity SET data=(SELECT data FROM cached_entity WHERE "
            "entity_type='Tickets' AND entity_id=?) WHERE entity_type='Tickets' AND entity_id=?",
            (ids[0], ids[1]),
        )
        conn.commit()
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        with pytest.raises(SecurityError, match=f"cached_entity.data of Tickets {ids[1]}"):
            await agent.rotate_data_key()
    finally:
        await agent.close()
