"""Transient failures are retried with growing, jittered backoff whose next attempt time is stored;
they never park an edit by themselves. Real engine, simulator, fake clock."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.sync.engine_world import new_title_edits, reopen, world_at


async def test_a_503_blip_of_under_two_seconds_does_not_park_the_edit(tmp_path: Path) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 1)
        blip = w.sim.faults.error(503, route="tickets", verb="PATCH", count=3)
        started = w.clock.monotonic()
        await w.sync_until_sent(wanted, step=0.5, rounds=400)
        assert blip.fired == 3
        assert not await w.parked_ever()
        assert w.clock.monotonic() - started < 60.0  # it did not wait out a long break either


@pytest.mark.parametrize("status", [503, 504])
async def test_a_long_outage_keeps_retrying_ever_more_slowly_and_survives_a_restart(
    tmp_path: Path, status: int
) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 2)
        outage = w.sim.faults.error(status, route="tickets", verb="PATCH")
        hits: list[float] = []
        start = w.clock.monotonic()
        while w.clock.monotonic() - start < 1800.0:  # half an hour of 503s, a round every 10 s
            before = outage.fired
            await w.sync()
            synced_at = w.clock.now().timestamp()
            if outage.fired > before:
                hits.append(w.clock.monotonic() - start)
            w.clock.advance(10.0)
        assert not await w.parked_ever()
        assert 4 <= len(hits) <= 40, hits  # retried on and on, but not on every round (180)
        gaps = [b - a for a, b in itertools.pairwise(hits)]
        assert max(gaps[len(gaps) // 2 :]) > 3 * min(gaps[: len(gaps) // 2]), hits
        pending = [o for o in await w.ops() if o.state == "pending"]
        assert len(pending) == 2
        for item in pending:
            assert item.attempts >= 4
            # Later than the last round (the 10 s since then may have made it due: jitter).
            assert item.next_attempt_at is not None and item.next_attempt_at > synced_at
            assert item.last_error is not None and "retried" in item.last_error
        stored = {o.id: o.next_attempt_at for o in pending}

        await reopen(w)  # a restart keeps the schedule: nothing goes before the stored time
        w.sim.faults.remove(outage)
        patches = w.counter("tickets", verb="PATCH")
        after_restart = {o.id: o.next_attempt_at for o in await w.ops() if o.state == "pending"}
        assert after_restart == stored
        if w.clock.now().timestamp() < min(stored.values()):
            await w.sync()
            assert patches.fired == 0
        w.clock.advance(max(stored.values()) - w.clock.now().timestamp() + 1.0)
        await w.sync_until_sent(wanted, step=10.0, rounds=10)
        assert patches.fired == 2  # each edit exactly once after the outage


async def test_an_unreadable_answer_to_the_merge_read_does_not_park_the_edits(
    tmp_path: Path,
) -> None:
    async with world_at(tmp_path) as w:
        assert (await w.sync()).error is None
        wanted = await new_title_edits(w, 3)
        garbled = w.sim.faults.malformed_json(route="tickets/query*", count=1)
        assert w.agent.engine is not None
        await w.agent.engine.sync_once(pull=False)  # the push's own read gets the garbled answer
        assert garbled.fired == 1
        assert not await w.parked_ever()
        await w.sync_until_sent(wanted, step=5.0, rounds=20)
