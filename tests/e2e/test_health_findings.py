"""Health reads "degraded" only while something is wrong: a finding about an operation ends with
the operation."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.e2e.test_sync_flow import first_sync


def about(world: World, op_id: int) -> list[str]:
    return [f for f in world.agent.health().findings if f.startswith(f"{op_id}:")]


async def _repeating(world: World) -> tuple[int, int]:
    ids = await first_sync(world)
    result = await world.agent.update_ticket(ids[0], title="Keeps failing")
    world.sim.faults.error(503, route="tickets", verb="PATCH", message="Maintenance")
    for _ in range(4):
        world.clock.advance(3600)  # past each retry's backoff
        await world.agent.sync_now()
    assert about(world, result.op_id), world.agent.health()
    return ids[0], result.op_id


async def test_discarding_an_operation_ends_its_failure_finding(world: World) -> None:
    _, op_id = await _repeating(world)
    await world.agent.discard(op_id)
    assert about(world, op_id) == []


async def test_an_operation_that_ends_another_way_ends_its_finding(world: World) -> None:
    _, op_id = await _repeating(world)

    # The queued change ends without a send through the pipeline (as when the conflict desk
    # or a coalesced edit cancels it).
    def cancel() -> None:
        world.agent.outbox.cancel(op_id, "ended elsewhere")

    world.agent.store.write(cancel)
    await world.agent.sync_now()
    assert about(world, op_id) == []


def online_gauge(world: World) -> float:
    from agent.monitor import names

    return float(names.ONLINE.on(world.agent.observe.monitor.registry).labels().value)


async def test_the_online_gauge_holds_from_the_start_and_follows_work_offline(
    world: World,
) -> None:
    # An agent that starts online and never changes mode: the queue-growth alert needs it.
    assert online_gauge(world) == 1
    await world.agent.set_work_offline(True)
    assert online_gauge(world) == 0
    await world.agent.set_work_offline(False)
    assert online_gauge(world) == 1


async def test_a_queue_growing_while_online_raises_its_alert_and_a_drain_clears_it(
    world: World,
) -> None:
    ids = await first_sync(world)
    sampler = world.agent.observe.monitor.sampler

    def active() -> list[str]:
        return [a.rule for a in world.agent.observe.alerts()]

    for i in range(30):  # a note a minute, none sent (nothing syncs meanwhile)
        await world.agent.add_note(ids[i % 3], f"n{i}", title="t", publish=1, note_type=1)
        for _ in range(6):
            world.clock.advance(10)
            sampler.tick()
    assert "queue_growing" in active()
    await world.agent.sync_now()
    for _ in range(6 * 20):
        world.clock.advance(10)
        sampler.tick()
    assert "queue_growing" not in active()


async def test_a_paused_queue_growing_is_no_alert_and_an_error_alert_clears_when_quiet(
    world: World,
) -> None:
    ids = await first_sync(world)
    sampler = world.agent.observe.monitor.sampler

    def active() -> list[str]:
        return [a.rule for a in world.agent.observe.alerts()]

    world.agent.pause()
    assert online_gauge(world) == 0
    for i in range(30):
        await world.agent.add_note(ids[i % 3], f"p{i}", title="t", publish=1, note_type=1)
        for _ in range(6):
            world.clock.advance(10)
            sampler.tick()
    assert "queue_growing" not in active()  # paused on purpose: not a fault
    world.agent.resume()
    world.sim.faults.error(503, route="tickets/*/notes", verb="POST")
    for _ in range(12):
        world.clock.advance(300)  # past each retry's backoff
        await world.agent.sync_now()
        sampler.tick()
    assert "error_rate_high" in active()
    world.sim.faults.clear()
    for _ in range(6 * 30):  # half an hour: sends, then nothing at all
        world.clock.advance(10)
        await world.agent.sync_now()
        sampler.tick()
    assert "error_rate_high" not in active()


async def test_a_queue_draining_too_slowly_while_online_raises_its_warning_and_a_drain_clears_it(
    world: World,
) -> None:
    """In normal mode all along (no mode change sets the online gauge): 300 changes waiting,
    one leaving every two minutes, is ten hours to drain."""
    ids = await first_sync(world)
    sampler = world.agent.observe.monitor.sampler

    def active() -> list[str]:
        return [a.rule for a in world.agent.observe.alerts()]

    ops = [
        (await world.agent.add_note(ids[i % 3], f"s{i}", title="t", publish=1, note_type=1)).op_id
        for i in range(300)
    ]
    for minute in range(24):
        if minute % 2 == 0:
            await world.agent.discard(ops.pop())  # the only one to leave in two minutes
        for _ in range(6):
            world.clock.advance(10)
            sampler.tick()
    assert "queue_drain_slow" in active()
    assert any("to drain" in a.message for a in world.agent.observe.alerts())
    await world.agent.sync_now()  # everything goes at once
    for _ in range(6 * 5):
        world.clock.advance(10)
        sampler.tick()
    assert "queue_drain_slow" not in active()
