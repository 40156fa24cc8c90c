"""Work that lives only in the write-ahead log (the program died before a checkpoint) survives
damage to that log, and an emptied main file: SQLite would skip both without a word."""

from __future__ import annotations

import random
from pathlib import Path

from tests.store.salvage_template import server_notes, small_world
from tests.store.salvage_world import World, capture_notes

COUNT = 30
EXTRA = "the note whose commit was torn"


def _wal(world: World) -> Path:
    return world.database.with_name("agent.sqlite3-wal")


async def _crashed(world: World, count: int = COUNT) -> tuple[dict[int, int], bytes, bytes]:
    """Notes captured after the first sync, and the files as a crash would have left them (the
    notes only in the -wal): taken while the agent is still open."""
    agent = await world.open()
    try:
        assert (await agent.sync_now()).error is None
        ops = await capture_notes(agent, count)
        main_file, log_file = world.database.read_bytes(), _wal(world).read_bytes()
    finally:
        await agent.close()
    return ops, main_file, log_file


def _kept_logs(world: World) -> list[Path]:
    return sorted(world.database.parent.glob("agent.sqlite3.corrupt-*-wal"))


async def _reopen_and_send(world: World, ops: dict[int, int]) -> tuple[int, int, set[int]]:
    """(recovered, unreadable) of the salvage, and the note numbers sent (each exactly once)."""
    agent = await world.open()
    try:
        notice = agent.profile.recovery
        assert notice is not None and notice.salvage is not None, "the damage is noticed"
        counts = notice.salvage.operations
        assert (await agent.status()).pending == counts.recovered
        await agent.sync_now()
        await agent.sync_now()
        on_server = server_notes(world)
        sent = {n for n in ops.values() if on_server(n)}
        assert all(on_server(n) == 1 for n in sent), "each sent exactly once"
        assert (await agent.status()).pending == 0
        assert (await agent.verify_audit()).ok
    finally:
        await agent.close()
    return counts.recovered, counts.unreadable, sent


async def test_a_log_whose_header_is_zeroed_gives_back_every_committed_change(
    tmp_path: Path,
) -> None:
    world = small_world(tmp_path)
    ops, main_file, log_file = await _crashed(world)
    world.database.write_bytes(main_file)
    _wal(world).write_bytes(bytes(32) + log_file[32:])

    recovered, unreadable, sent = await _reopen_and_send(world, ops)
    assert (recovered, unreadable) == (COUNT, 0)
    assert sent == set(ops.values())
    assert _kept_logs(world), "the damaged log is kept aside with its database"


async def test_bytes_written_into_the_middle_of_the_log_lose_only_what_they_hit(
    tmp_path: Path,
) -> None:
    world = small_world(tmp_path)
    ops, main_file, log_file = await _crashed(world)
    world.database.write_bytes(main_file)
    raw = bytearray(log_file)
    middle = len(raw) // 2
    raw[middle : middle + 64] = random.Random(5).randbytes(64)
    _wal(world).write_bytes(bytes(raw))

    recovered, unreadable, sent = await _reopen_and_send(world, ops)
    assert recovered + unreadable == COUNT, "every change is accounted for"
    assert recovered == len(sent) >= COUNT - 10
    assert _kept_logs(world)


async def test_a_torn_last_write_after_a_crash_is_not_damage(tmp_path: Path) -> None:
    """The last transaction's commit frame was half written when the power went: SQLite drops
    that transaction, as it should; nothing committed before it is lost, nothing is moved."""
    world = small_world(tmp_path)
    ops, _, _ = await _crashed(world)
    agent = await world.open()  # the committed notes are all there
    try:
        tickets = await agent.my_tickets()
        lists = await agent.picklists("TicketNotes")
        await agent.add_note(
            tickets[0].id,
            EXTRA,
            title="Salvage",
            note_type=min(lists["noteType"]),
            publish=min(lists["publish"]),
        )
        torn_main, torn_log = world.database.read_bytes(), _wal(world).read_bytes()
    finally:
        await agent.close()
    assert len(torn_log) > 4096
    raw = bytearray(torn_log)
    raw[-2000:] = random.Random(3).randbytes(2000)  # the tail of the last (commit) frame
    world.database.write_bytes(torn_main)
    _wal(world).write_bytes(bytes(raw))

    agent = await world.open()
    try:
        assert agent.profile.recovery is None, "a torn last write is not damage"
        assert (await agent.status()).pending == COUNT
        await agent.sync_now()
        await agent.sync_now()
        on_server = server_notes(world)
        assert all(on_server(n) == 1 for n in ops.values())
        notes = world.sim.dump()["TicketNotes"].values()
        assert not [v for v in notes if v["description"] == EXTRA], "its commit never completed"
    finally:
        await agent.close()
    assert not _kept_logs(world)


async def test_an_emptied_main_file_beside_its_log_is_damage_and_salvaged(
    tmp_path: Path,
) -> None:
    world = small_world(tmp_path)
    ops, _main_file, log_file = await _crashed(world)
    world.database.write_bytes(b"")
    _wal(world).write_bytes(log_file)

    recovered, unreadable, sent = await _reopen_and_send(world, ops)
    assert recovered > 0 and recovered == len(sent)
    assert recovered + unreadable == COUNT
    assert _kept_logs(world)
