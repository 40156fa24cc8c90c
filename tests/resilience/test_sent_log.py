"""An agent restarted mid-window remembers the requests it sent before: the tenant's window still
holds them, and a fresh pacer must not spend its share again on top of them."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from agent.clock import FakeClock
from agent.resilience.quota import QuotaPacer, QuotaSettings
from agent.resilience.sent_log import SentLog
from tests.resilience.pacing import round_robin, send_up_to
from tests.resilience.test_active_agents import Tenant

SETTINGS = QuotaSettings(share=0.5, max_wait=0.0)
SHARE = 0.5 * 9_000  # no other integrations: the share of what lies below the reserve


async def drain(pacer: QuotaPacer, tenant: Tenant, clock: FakeClock, seconds: float) -> int:
    """Send whenever the pacer lets, for `seconds`; returns how many went."""
    sent = 0
    for _ in range(int(seconds)):
        sent += await send_up_to(pacer, tenant.request, 30)
        clock.advance(1.0)
    return sent


async def test_a_restarted_agent_does_not_spend_its_share_again_within_the_window(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, others=1)
    log = tmp_path / "sent-requests.json"
    first = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=SentLog(log, clock))
    await drain(first, tenant, clock, 600)
    await first.save_sent()  # the link closes as the process stops
    for _ in range(3):  # restarted three times within the same hour
        again = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=SentLog(log, clock))
        await drain(again, tenant, clock, 600)
    assert tenant.count(clock.monotonic()) <= SHARE  # counted by the tenant, readings included
    # A window later the requests have left it, and the share is there again.
    clock.advance(3_600)
    later = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=SentLog(log, clock))
    assert await drain(later, tenant, clock, 600) > 0.8 * SHARE


async def test_without_the_record_a_restart_would_spend_the_share_twice(tmp_path: Path) -> None:
    """The same restart with the record lost (deleted between runs): what the record prevents."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, others=1)
    log = tmp_path / "sent-requests.json"
    first = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=SentLog(log, clock))
    await drain(first, tenant, clock, 600)
    await first.save_sent()
    log.unlink()
    again = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=SentLog(log, clock))
    await drain(again, tenant, clock, 600)
    assert tenant.count(clock.monotonic()) > 1.2 * SHARE


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"sent": 5}', b'{"sent": [[1, 2, 3], ["a", 1], [1e400, 1], [true, 1]]}', b""],
)
def test_a_damaged_record_is_said_and_pacing_goes_on_as_after_a_clean_start(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    log = tmp_path / "sent-requests.json"
    log.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        pacer = QuotaPacer(None, SETTINGS, clock, sent_log=SentLog(log, clock))
    assert pacer.own() == 0
    if content in (b"{not json", b'{"sent": 5}', b""):
        assert "could not be read" in caplog.text


async def test_a_record_that_cannot_be_written_is_said_and_sending_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, others=1)
    blocked = tmp_path / "sent-requests.json"
    blocked.mkdir()  # a folder where the file should be: every write fails
    pacer = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=SentLog(blocked, clock))
    with caplog.at_level(logging.WARNING):
        for _ in range(5):  # writes tried after every few requests: said once, not each time
            assert await drain(pacer, tenant, clock, 1) > 0
            await _writes_done()
    assert caplog.text.count("could not be written") == 1


def test_requests_from_a_clock_set_back_count_as_sent_now_and_old_ones_not_at_all(
    tmp_path: Path,
) -> None:
    """After a restart of the computer (its monotonic clock starts again) only the wall clock
    says when: one set back a day puts the requests in the future."""
    clock = FakeClock(monotonic_start=50_000.0)
    log = tmp_path / "sent-requests.json"
    writer = SentLog(log, clock)
    writer.save([clock.monotonic() - 4_000.0] * 5 + [clock.monotonic() - 10.0] * 7)
    rebooted = FakeClock(clock.now() - timedelta(days=1), monotonic_start=100.0)
    times = SentLog(log, rebooted).load(3_600.0)  # the newest as sent now, the rest before them
    assert len(times) == 7 and all(t == rebooted.monotonic() for t in times)
    rebooted = FakeClock(clock.now() + timedelta(seconds=600), monotonic_start=100.0)
    times = SentLog(log, rebooted).load(3_600.0)
    assert len(times) == 7 and all(t == pytest.approx(rebooted.monotonic() - 610) for t in times)


@pytest.mark.parametrize("correction", [2 * 3_600.0, -86_400.0])
def test_a_wall_clock_corrected_on_the_same_computer_is_corrected_in_the_record(
    tmp_path: Path, correction: float
) -> None:
    """The clock was two hours slow when the record was written and a time sync set it right
    before the restart (or it was set back a day): every request is as old as it really is."""
    clock = FakeClock()
    log = tmp_path / "sent-requests.json"
    sent = [clock.monotonic() - 3_000.0] * 100 + [clock.monotonic() - 60.0] * 200
    SentLog(log, clock).save(sent)
    clock.step_wall(correction)
    clock.advance(30.0)
    times = SentLog(log, clock).load(3_600.0)
    assert len(times) == 300
    assert times[0] == pytest.approx(clock.monotonic() - 3_030.0, abs=1.0)
    assert times[-1] == pytest.approx(clock.monotonic() - 90.0, abs=1.0)


def test_a_record_that_is_a_link_or_too_large_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    log = tmp_path / "sent-requests.json"
    log.symlink_to("/dev/zero")
    with caplog.at_level(logging.WARNING):
        assert SentLog(log, clock).load(3_600.0) == []
    assert "could not be read" in caplog.text
    log.unlink()
    log.write_text(" " * 4_000_001 + "{}")
    assert SentLog(log, clock).load(3_600.0) == []
    # A small file claiming a hundred million requests: no more than a hundred thousand.
    second = int(clock.now().timestamp()) - 10
    log.write_text(json.dumps({"sent": [[second - k, 10_000] for k in range(10_000)]}))
    assert len(SentLog(log, clock).load(3_600_000.0)) == 100_000


def test_the_record_is_private_and_holds_only_times(tmp_path: Path) -> None:
    clock = FakeClock()
    log = tmp_path / "sent-requests.json"
    SentLog(log, clock).save([clock.monotonic() - 1.0, clock.monotonic()])
    assert log.stat().st_mode & 0o077 == 0
    assert set(log.read_text()) <= set('{}[]":,.0123456789sentat')


async def test_agents_of_a_fleet_restarted_together_keep_the_share(tmp_path: Path) -> None:
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, others=1)
    settings = QuotaSettings(share=0.5, max_wait=0.0, fleet_size=5)
    logs = [tmp_path / f"sent-{i}.json" for i in range(5)]

    def fleet() -> list[QuotaPacer]:
        return [
            QuotaPacer(
                tenant.read, settings, clock, rng=random.Random(i), sent_log=SentLog(p, clock)
            )
            for i, p in enumerate(logs)
        ]

    for _ in range(3):
        pacers = fleet()
        await round_robin(pacers, tenant.request, clock, rounds=300, step=1.0)
        for pacer in pacers:
            await pacer.save_sent()
    assert tenant.count(clock.monotonic()) <= SHARE


async def test_the_record_is_written_at_readings_so_a_crash_keeps_it(tmp_path: Path) -> None:
    """No close (the process is killed): what the readings wrote is what the next start finds."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, others=1)
    log = tmp_path / "sent-requests.json"
    first = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=SentLog(log, clock))
    sent = await drain(first, tenant, clock, 60)
    await _writes_done()
    again = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=SentLog(log, clock))
    ours = tenant.count(clock.monotonic()) - 1  # the tenant's count: calls and readings
    assert sent > 1_000
    assert ours - 40 <= again.own() <= ours  # at most the calls after the last reading are missed


async def test_a_disk_that_hangs_holds_no_call(tmp_path: Path) -> None:
    """The record's write stalls (a network home folder gone away): calls go on, the readings
    go on, only one write waits; when the disk answers, the close writes the latest."""
    clock = FakeClock()
    tenant = Tenant(clock, threshold=10_000, others=1)
    log = tmp_path / "sent-requests.json"
    record = SentLog(log, clock)
    hung, started = threading.Event(), threading.Event()
    writes: list[str] = []
    real_write = record._write

    def stalled(text: str, state: tuple[float, int]) -> None:
        writes.append(text)
        started.set()
        hung.wait(10.0)
        real_write(text, state)

    record._write = stalled  # type: ignore[method-assign]
    pacer = QuotaPacer(tenant.read, SETTINGS, clock, sent_log=record)
    sent = await drain(pacer, tenant, clock, 5)
    assert await asyncio.to_thread(started.wait, 10.0)  # the first write has started, and hangs
    assert len(writes) == 1
    reads = pacer.reads
    sent += await drain(pacer, tenant, clock, 55)
    assert sent > 1_000 and pacer.reads > reads + 10
    assert len(writes) == 1  # the readings only asked for another write
    hung.set()
    await pacer.save_sent()  # at close: after the write under way, the latest
    assert len(writes) == 2
    assert len(SentLog(log, clock).load(3_600.0)) == pacer.own()


async def _writes_done() -> None:
    """Wait for the writes started in the background (worker threads, not the fake clock)."""
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    await asyncio.wait_for(asyncio.gather(*pending), 10.0)
