"""A zone directory that drips its answer: a round asks it once, not once per call (the other
calls fail at once with the lookup's own error until its backoff has passed), and closing the
agent never waits for a lookup still dripping. Bounds are proven by counting the lookups the
directory saw, on the fake clock, never by timing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.hostile.app import Mode
from tests.hostile.world import TINY, HostileWorld, hostile_world
from tests.sync.engine_world import new_title_edits


def lookups(w: HostileWorld) -> int:
    return sum(1 for s in w.app.seen if s.path.endswith("/ZoneInformation"))


async def test_a_dripping_zone_lookup_is_asked_once_a_round(tmp_path: Path) -> None:
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 3)
        w.app.mode = Mode.SLOW_ZONE
        w.app.drip_bytes, w.app.drip_interval = 1, 0.05  # ~10 s for the whole answer
        await w.reopen()  # a new start looks the zone up again
        w.short_deadlines(TINY)  # each call (and the lookup it needs) ends within ~0.3 s
        before = lookups(w)
        async with asyncio.timeout(60.0):  # a hang guard only: the lookups are counted
            report = await w.sync()
        assert lookups(w) - before == 1
        assert report.error is not None and report.push.succeeded == 0
        # Another round before the lookup's backoff has passed asks nothing.
        async with asyncio.timeout(60.0):
            report = await w.sync()
        assert lookups(w) - before == 1 and report.push.succeeded == 0
        # Once it has passed, the directory is asked again, and answers well: all goes out.
        w.app.mode = None
        w.clock.advance(3600.0)
        await w.sync_until_sent(wanted, step=60.0, rounds=5)
        assert lookups(w) - before == 2


async def test_close_returns_while_a_zone_lookup_drips(tmp_path: Path) -> None:
    """The sync loop's round waits on a lookup that would drip for ~10 s (within its 30 s
    deadline): closing cancels it instead of waiting for it."""
    async with hostile_world(tmp_path) as w:
        assert (await w.sync()).error is None
        await new_title_edits(w, 1)
        w.app.mode = Mode.SLOW_ZONE
        w.app.drip_bytes, w.app.drip_interval = 1, 0.05
        await w.reopen()
        before = lookups(w)
        w.agent.start()
        for _ in range(10_000):  # until the round's lookup is under way
            if lookups(w) > before:
                break
            await asyncio.sleep(0)
        assert lookups(w) == before + 1
        async with asyncio.timeout(60.0):  # a hang guard only
            await w.agent.close()
        assert w.app.drips_ended == 0  # it returned before the answer had dripped in
        w.app.mode = None
        w.agent = await type(w.agent).open(w.agent_options())
