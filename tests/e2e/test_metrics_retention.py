"""The `metrics_retention_days` setting is what the running agent keeps, above 30 days too."""

from __future__ import annotations

from agent.monitor.series import ROLLUP
from agent.store.models import MetricSample
from tests.e2e.conftest import World


def _plant(world: World, days_ago: float) -> float:
    at = world.clock.now().timestamp() - days_ago * 86400

    def run() -> None:
        MetricSample.insert(series="queue_depth", resolution=ROLLUP, at=at, value=3.0).execute()

    world.agent.store.write(run)
    return at


def _kept(world: World, at: float) -> bool:
    return world.agent.store.read(
        lambda: MetricSample.select().where(MetricSample.at == at).count() == 1
    )


async def test_rollups_are_kept_as_long_as_the_setting_says(world: World) -> None:
    await world.agent.update_settings(metrics_retention_days=90)
    kept, gone = _plant(world, 60), _plant(world, 95)
    world.agent.observe.monitor.series.prune()
    assert _kept(world, kept) and not _kept(world, gone)
    await world.agent.update_settings(metrics_retention_days=30)
    world.agent.observe.monitor.series.prune()
    assert not _kept(world, kept)
