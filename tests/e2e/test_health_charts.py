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
