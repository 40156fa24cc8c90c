"""`Monitor`: the registry, series, sampler and alert engine of one profile, wired together.

The facade holds one; other layers record through `monitor.registry` with the names of
`agent.monitor.names`, the window reads `monitor.series`, the tray subscribes to `monitor.alerts`.
Samples are taken on a worker thread, so alert callbacks arrive there: a subscriber on the event
loop hops over with `loop.call_soon_threadsafe`. `alerts.set_condition` writes to the store, so
call it off the GUI thread too (e.g. `asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from agent.clock import SYSTEM_CLOCK, Clock
from agent.monitor.alerts import AlertEngine
from agent.monitor.collectors import default_collectors
from agent.monitor.names import register_all
from agent.monitor.registry import MetricsRegistry
from agent.monitor.rules import Rule
from agent.monitor.sampler import Sampler
from agent.monitor.series import SeriesStore
from agent.monitor.standard_rules import standard_rules
from agent.store.connection import Store


class Monitor:
    def __init__(
        self,
        store: Store,
        clock: Clock = SYSTEM_CLOCK,
        *,
        registry: MetricsRegistry | None = None,
        rules: Sequence[Rule] | None = None,
        retention_days: float = 30.0,
        with_collectors: bool = True,
    ) -> None:
        self.registry = register_all(registry or MetricsRegistry())
        self.series = SeriesStore(store, clock, rollup_retention_s=retention_days * 86400.0)
        collectors = default_collectors(store, self.registry, clock) if with_collectors else []
        self.sampler = Sampler(self.registry, self.series, clock, collectors=collectors)
        self.alerts = AlertEngine(
            store, self.series, standard_rules() if rules is None else rules, clock
        )
        self.sampler.subscribe(self.alerts.on_sample)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        """Start sampling every 10 s on the running loop (the task is kept until `stop`)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.sampler.run())
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self.series.flush)
