"""The Health page's charts fill as work happens."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.e2e.test_sync_flow import first_sync


async def test_throughput_latency_and_quota_show_the_work_just_done(world: World) -> None:
    ids = await first_sync(world)
    sampler = world.agent.observe.monitor.sampler
    sampler.tick()
    for i in range(12):
        await world.agent.add_note(ids[i % 3], f"n{i}", title="t", publish=1, note_type=1)
    report = await world.agent.sync_now()
    assert report.push.succeeded == 12
    world.clock.advance(10)
    sampler.tick()
    now = world.clock.now().timestamp()
    throughput = await world.agent.series("throughput", now - 900, now)
    latency = await world.agent.series("api_latency_p95", now - 900, now)
    quota = await world.agent.series("quota_use", now - 900, now)
    assert throughput and throughput[-1][1] > 0
    assert latency
    assert quota[-1][1] > quota[0][1]  # this agent's own calls count before the next reading
    # Against the tenant's own count of requests in its window (the simulator's ledger).
    assert sampler.latest["quota_used_requests"] == world.sim.limits.usage(world.sim.tenant.name)


async def test_a_sync_reports_each_operation_it_sends(world: World) -> None:
    ids = await first_sync(world)
    for i in range(7):
        await world.agent.add_note(ids[i % 3], f"n{i}", title="t", publish=1, note_type=1)
    seen: list[tuple[str, int, int]] = []
    statuses: list[tuple[int, int] | None] = []
    queue_events = []

    def listen(event) -> None:
        if event.kind == "progress" and event.data["stage"].startswith("send"):
            seen.append((event.data["stage"], event.data["done"], event.data["total"]))
        if event.kind == "queue_changed":
            queue_events.append(event)

    world.agent.subscribe(listen)
    real = world.agent._on_progress

    def watch(stage: str, done: int, total: int) -> None:
        real(stage, done, total)
        if stage == "send":
            statuses.append(world.agent._sending())

    world.agent.engine.progress = watch
    await world.agent.sync_now()
    assert [s for s in seen if s[0] == "send"] == [("send", n, 7) for n in range(1, 8)]
    assert seen[-1] == ("send_done", 7, 7)
    assert statuses[:3] == [(1, 7), (2, 7), (3, 7)] and statuses[-1] is None
    assert len(queue_events) >= 7  # the window's counts move with each one
    assert (await world.agent.status()).sending is None


async def test_depth_and_throughput_move_while_the_queue_drains(world: World) -> None:
    ids = await first_sync(world)
    sampler = world.agent.observe.monitor.sampler
    for i in range(9):
        await world.agent.add_note(ids[i % 3], f"n{i}", title="t", publish=1, note_type=1)
    sampler.tick()
    assert sampler.latest["queue_unsent"] == 9
    during: list[dict[str, float]] = []
    real = world.agent.engine.progress

    def midway(stage: str, done: int, total: int) -> None:
        real(stage, done, total)
        if stage == "send" and done == 4:  # claimed operations are leased while sent
            world.clock.advance(10)
            during.append(dict(sampler.tick()))

    world.agent.engine.progress = midway
    report = await world.agent.sync_now()
    assert report.push.succeeded == 9 and len(during) == 1
    from agent.api.observe import CHARTS

    throughput_key = CHARTS["throughput"]
    # Not 0: five still wait to be sent (or four: sends run side by side, and the fifth may be
    # stored before the fourth's count comes round).
    midway_unsent = during[0]["queue_unsent"]
    assert midway_unsent in (4, 5)
    assert during[0][throughput_key] == 4 / 10  # the four sent so far, while the rest wait
    world.clock.advance(10)
    after = sampler.tick()
    assert after["queue_unsent"] == 0
    assert after[throughput_key] == 5 / 10  # the rest, not counted twice
    now = world.clock.now().timestamp()
    depth = await world.agent.series("queue_depth", now - 900, now)
    assert [v for _, v in depth] == [9, midway_unsent, 0]


async def test_a_finished_burst_is_not_forecast_to_use_up_the_hourly_limit(
    world: World,
) -> None:
    ids = await first_sync(world)
    observe, sampler = world.agent.observe, world.agent.observe.monitor.sampler

    def climb(start: int) -> None:  # a burst: a tenth of the share every 10 s
        for step in range(4):
            observe.record_quota(start + 100 * step, 1000, 1.0)
            world.clock.advance(10)
            sampler.tick()

    for i in range(3):
        await world.agent.add_note(ids[i], f"n{i}", title="t", publish=1, note_type=1)
    climb(0)
    working = world.agent.health().forecasts["quota_exhaust_s"]
    assert working is not None and working > 0  # at this pace, while work remains
    await world.agent.sync_now()
    climb(400)
    world.clock.advance(10)
    sampler.tick()
    assert sampler.latest["queue_unsent"] == 0
    assert world.agent.health().forecasts["quota_exhaust_s"] is None
    assert world.agent.health().forecasts["queue_drain_s"] == 0.0
