"""What a person typed: each captured edit commits with a full sync; a capture refused for lack of
space says so and keeps what came before; sync resumes by itself once space is back, and sends
every edit exactly once (counted on the simulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.store import DiskFullError, Durability, Store
from agent.store.models import Setting
from agent.sync.capture import Capture
from agent.sync.conflicts import ConflictDesk, ConflictError
from tests.e2e.conftest import World, open_world, options
from tests.store.machine import fill, incompressible, limit_pages, small_tmpfs, unlimit_pages


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path, "store-captures", 40) as opened:
        yield opened


async def _synced(world: World) -> list[int]:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report
    return [t.id for t in await world.agent.my_tickets()]


def _level(store: Store) -> int:
    return int(store.db.execute_sql("PRAGMA synchronous").fetchone()[0])


def _spy_capture_level(monkeypatch: pytest.MonkeyPatch, store: Store) -> list[int]:
    """The `synchronous` level each capture's transaction runs at, seen from inside it."""
    seen: list[int] = []
    real: Callable[..., Any] = Capture._queue

    def queue(self: Capture, *args: Any, **kwargs: Any) -> Any:
        seen.append(_level(store))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Capture, "_queue", queue)
    return seen


async def _note(world: World, ticket_id: int, text: str) -> None:
    lists = await world.agent.picklists("TicketNotes")
    await world.agent.add_note(
        ticket_id,
        text,
        title="On site",
        note_type=min(lists["noteType"]),
        publish=min(lists["publish"]),
    )


async def test_a_captured_edit_commits_with_a_full_sync_and_bulk_work_does_not(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _synced(world)
    store = world.agent.store
    assert store.durability is Durability.NORMAL
    seen = _spy_capture_level(monkeypatch, store)
    statuses = sorted((await world.agent.picklists("Tickets"))["status"])
    current = (await world.agent.ticket(ids[0])).fields["status"].value  # type: ignore[union-attr]
    await world.agent.update_ticket(ids[0], status=next(s for s in statuses if s != current))
    await _note(world, ids[1], "Swapped the PSU")
    assert seen == [2, 2]  # FULL inside each capture's transaction
    # ... and back to NORMAL for everything else, on the writer thread and a direct writer alike
    assert await store.awrite(lambda: _level(store)) == 1
    assert store.write(lambda: _level(store)) == 1
    report = await world.agent.sync_now()  # bulk work: the cache refresh, the push's records
    assert report is not None and report.push.succeeded == 2


def test_a_durable_write_is_fully_synced_even_when_it_fails(store: Store) -> None:
    assert store.write(lambda: _level(store), durable=True) == 2

    def refused() -> None:
        Setting.create(key="k", value="v")
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        store.write(refused, durable=True)
    assert store.write(lambda: _level(store)) == 1
    assert store.read(lambda: Setting.select().count()) == 0
    store.set_durability(Durability.FULL)  # the setting asks for FULL everywhere: it stays
    assert store.write(lambda: _level(store), durable=True) == 2
    assert store.write(lambda: _level(store)) == 2


async def test_an_async_durable_write_runs_fully_synced_on_the_writer_thread(store: Store) -> None:
    assert await store.awrite(lambda: _level(store), durable=True) == 2
    assert await store.awrite(lambda: _level(store)) == 1


async def test_a_capture_refused_for_lack_of_space_says_so_and_keeps_what_came_before(
    world: World,
) -> None:
    ids = await _synced(world)
    store = world.agent.store
    limit_pages(store, extra=2)
    accepted: list[str] = []

    async def until_refused() -> None:
        for n in range(400):
            text = f"visit note {n} " + incompressible(1500, seed=n)
            await _note(world, ids[0], text)
            accepted.append(text)

    with pytest.raises(DiskFullError) as err:
        await until_refused()
    message = str(err.value)
    assert "full" in message and "not saved" in message and "\n" not in message
    assert accepted, "some notes fitted before the disk was full"
    assert (await world.agent.status()).pending == len(accepted)
    unlimit_pages(store)
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report
    sent = [n["description"] for n in world.sim.dump()["TicketNotes"].values()]
    assert sorted(d for d in sent if d.startswith("visit note ")) == sorted(accepted)


def _fills_the_disk_at_the_first_write(app: Any, disk: Path, holder: dict[str, Any]) -> Any:
    """The simulator's app, except that the disk fills right after the first create or update
    reached the server: the agent sent it, but cannot record the answer."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        armed = holder.get("store") is not None and "filler" not in holder
        method, route = scope.get("method", ""), scope.get("path", "").lower()
        if armed and method in ("POST", "PATCH", "PUT") and not route.endswith("/query"):
            holder["store"].checkpoint()  # an empty WAL: the next commit must grow it
            holder["filler"] = fill(disk)

    return wrapped


async def test_a_sync_round_the_disk_cannot_record_stops_cleanly_and_resumes_with_space(
    tmp_path: Path,
) -> None:
    with small_tmpfs(tmp_path / "disk", size="16m") as disk:
        data = tmp_path / "data"
        (data / "profiles").mkdir(parents=True)
        (data / "profiles" / "default").symlink_to(disk)  # the database on the small disk
        clock = FakeClock()
        sim = Simulator(seed="store-resume", tickets=40, clock=clock)
        sim.limits.latency_enabled = False
        holder: dict[str, Any] = {}
        opts = options(sim, clock, data)
        opts.transport = httpx.ASGITransport(
            app=_fills_the_disk_at_the_first_write(sim.app, disk, holder)
        )
        agent = await Agent.open(opts)
        try:
            world = World(sim, agent, clock, data)
            ids = await _synced(world)
            texts = [f"resume note {n}" for n in range(3)]
            for n, text in enumerate(texts):
                await _note(world, ids[n], text)
            current = (await agent.ticket(ids[3])).fields["status"].value  # type: ignore[union-attr]
            statuses = sorted((await agent.picklists("Tickets"))["status"])
            new_status = next(s for s in statuses if s != current)
            await agent.update_ticket(ids[3], status=new_status)
            holder["store"] = agent.store
            report = await agent.sync_now()  # returns (the loop would go on), does not raise
            assert "filler" in holder, "the disk filled during the round"
            assert report is not None and report.error is not None and "full" in report.error
            status = await agent.status()
            assert status.store_notice is not None and "full" in status.store_notice
            assert status.pending > 0  # the round stopped with edits still to send
            holder["filler"].unlink()  # space is back
            clock.advance(1)
            for _ in range(3):  # the loop's next rounds, run by hand
                report = await agent.sync_now()
            assert report is not None and report.error is None, report
            status = await agent.status()
            assert status.pending == 0 and status.store_notice is None
            notes = [n["description"] for n in sim.dump()["TicketNotes"].values()]
            assert sorted(d for d in notes if d.startswith("resume note ")) == texts  # once each
            assert sim.dump()["Tickets"][ids[3]]["status"] == new_status
        finally:
            await agent.close()


async def test_a_damaged_file_kept_aside_at_start_is_told_in_the_status(tmp_path: Path) -> None:
    database = tmp_path / "profiles" / "default" / "agent.sqlite3"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"not a database at all" * 100)
    clock = FakeClock()
    sim = Simulator(seed="store-recovery", tickets=10, clock=clock)
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        notice = (await agent.status()).store_notice
        assert notice is not None and str(database) in notice and ".corrupt-" in notice
    finally:
        await agent.close()


async def test_a_conflict_resolution_commits_with_a_full_sync(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resolving is a person's decision too: seen from inside its transaction, FULL, one by one
    and all at once (the unknown id is refused inside that same transaction)."""
    store = world.agent.store
    seen: list[int] = []
    real: Callable[..., Any] = ConflictDesk._resolve

    def resolve(self: ConflictDesk, *args: Any, **kwargs: Any) -> Any:
        seen.append(_level(store))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ConflictDesk, "_resolve", resolve)
    desk = world.agent.conflict_desk
    with pytest.raises(ConflictError):
        desk.resolve(987654, "mine")
    with pytest.raises(ConflictError):
        desk.resolve_all("theirs", [987654])
    assert seen == [2, 2]
    assert store.write(lambda: _level(store)) == 1
