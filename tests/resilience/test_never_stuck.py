"""The tenant's usage is read on its own schedule, so a mode entered on a high reading is left
again when usage falls, even while every call was being shed. Real engine, simulator, fake clock."""

from __future__ import annotations

from pathlib import Path

from tests.sync.engine_world import new_title_edits, world_at


async def test_edits_queued_at_high_usage_all_go_once_usage_falls(tmp_path: Path) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        w.use_budget(9_500)  # other integrations of the tenant: 95 % of the hourly threshold
        w.clock.advance(301.0)
        await w.sync()
        assert w.agent.pipeline is not None and w.agent.pipeline.pacer.usage >= 0.95
        wanted = await new_title_edits(w, 6)
        await w.sync()
        w.clock.advance(2 * 3600.0)  # the simulator's rolling hour forgets that usage
        assert w.usage() < 100
        await w.sync_until_sent(wanted, step=10.0, rounds=10)
        assert w.agent.pipeline.mode.value == "normal"
        assert [o.state for o in await w.ops() if o.state != "done"] == []


async def test_conserve_mode_is_left_and_the_pull_resumes_without_any_edit(tmp_path: Path) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        w.use_budget(6_000)  # 60 %: background refresh pauses
        w.clock.advance(301.0)
        await w.sync()
        assert w.agent.pipeline is not None and w.agent.pipeline.pacer.usage >= 0.6
        tickets_read = w.counter("tickets/query*")
        for _ in range(3):  # nothing to send; the refresh stays paused
            w.clock.advance(60.0)
            report = await w.sync()
            assert report.pull is None
        assert tickets_read.fired == 0
        w.clock.advance(2 * 3600.0)
        report = await w.sync()
        assert w.agent.pipeline.mode.value == "normal"
        assert report.pull is not None and report.pull_error is None
        assert tickets_read.fired >= 1  # the refresh really reached the server again
        ticket = (await w.my_ticket_ids())[0]
        w.sim.edit_ticket(ticket, title="Moved on by the dispatcher")
        w.clock.advance(1.0)
        await w.sync()
        assert (await w.agent.ticket(ticket)).fields["title"].value == "Moved on by the dispatcher"


async def test_a_circuit_only_the_pull_uses_gets_its_probe_and_conserve_mode_ends(
    tmp_path: Path,
) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        fault = w.sim.faults.error(503, route="ticketnotes/query*")
        assert w.agent.engine is not None and w.agent.pipeline is not None
        for _ in range(15):  # the network keeps coming back: the pull is tried at once each time
            w.agent.engine.needs_reconcile()
            await w.sync()
            w.clock.advance(0.1)
        states = w.agent.pipeline.breakers.states().values()
        assert "open" in {str(s) for s in states}
        assert w.agent.pipeline.mode.value == "conserve"
        w.sim.faults.remove(fault)
        notes_read = w.counter("ticketnotes/query*")
        for _ in range(15):  # a quarter of an hour, a round a minute, nothing to send
            w.clock.advance(60.0)
            report = await w.sync()
        assert w.agent.pipeline.mode.value == "normal"
        assert report.pull is not None and report.pull_error is None
        assert notes_read.fired >= 1
