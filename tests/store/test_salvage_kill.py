"""A start killed (SIGKILL, as a power cut would stop it) at any step of a salvage loses nothing:
the next start finds the unsent work in the outbox, says what was salvaged, and each change
reaches Autotask exactly once.

The kill is real: the start runs in a child process under `strace`, which delivers SIGKILL at the
N-th fsync/fdatasync or the N-th rename, for every N the salvage reaches. The program carries no
hook for it.

Every kill's leftovers are checked to be safe. The next start (salvage or swap, then the sync) runs
once for each different situation the kills leave on disk: which files are there, which are
empty, whether the damaged file is still in place and whether a completed salvage waits. Kills
that leave the same situation meet the same start.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from agent.api.recovery import last_salvage
from agent.security import identity
from agent.security.audit_anchor import load_audit_key
from agent.security.keys import DataKeyVault
from agent.store import rebuild
from tests.store.salvage_template import server_notes, world_with_unsent_notes
from tests.store.salvage_world import World, leaf_rowids, scribble

NOTES = 6
STRACE = shutil.which("strace")
# One kind of call per sweep: strace counts each call on its own, so a sweep of "fsync,fdatasync"
# would never reach the second fsync (the second fdatasync comes first).
CALLS = ["fdatasync", "fsync", "rename,renameat,renameat2"]
# The start a real agent makes, with the profile's audit key (children have no keyring).
CHILD = (
    "import sys\n"
    "from pathlib import Path\n"
    "from agent.store import Store\n"
    "key = bytes.fromhex(sys.argv[2])\n"
    "Store(Path(sys.argv[1]), salvage_audit_key=lambda settings: key).close()\n"
)

if STRACE is None and os.environ.get("CI") == "true":
    raise RuntimeError("strace is needed for the kill tests (make system-deps installs it)")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")


def _start(
    database: Path, *trace: str, log: str = os.devnull
) -> subprocess.CompletedProcess[bytes]:
    """A start of the store in a child process, traced by `strace` with `trace` options."""
    assert STRACE is not None
    root = Path(__file__).resolve().parents[2]
    cmd = [STRACE, "-f", "-qq", "-o", log, *trace, sys.executable, "-c", CHILD]
    with closing(sqlite3.connect(database)) as conn:
        settings = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM setting")}
    key = load_audit_key(DataKeyVault("default", identity.recorded_keyring_id(settings)))
    assert key is not None
    return subprocess.run(
        [*cmd, str(database), key.hex()], cwd=root, capture_output=True, timeout=60, check=False
    )


def _unsent(database: Path) -> int:
    with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT COUNT(*) FROM outbox_op WHERE state <> 'done'").fetchone()
    return int(row[0])


def _state_is_safe(database: Path, damaged: bytes) -> None:
    """What a start would find: the damaged file still in place, or a completed salvage waiting
    to be swapped in, or the new database holding the work; never an empty healthy database."""
    if database.exists() and database.read_bytes() == damaged:
        return
    if rebuild.completed(database) is not None:
        return
    assert database.exists(), "neither the damaged file nor a completed salvage"
    assert _unsent(database) == NOTES, "the database at its name holds the unsent work"


def _situation(database: Path, damaged: bytes) -> tuple[object, ...]:
    """What the next start meets on disk: the profile folder's files (kept names without their
    time, scratch folders without their random part), which of them are empty, whether the
    database's name still holds the damaged file, and whether a completed salvage waits."""
    files = []
    for p in database.parent.iterdir():
        name = re.sub(r"\.corrupt-[0-9T]+(-[0-9]+)?", ".corrupt-*", p.name)
        name = re.sub(r"^\.salvage-.*", ".salvage-*", name)
        empty = p.is_file() and p.stat().st_size == 0
        files.append((name, p.is_dir(), empty))
    in_place = database.exists() and database.read_bytes() == damaged
    return tuple(sorted(files)), in_place, rebuild.completed(database) is not None


@pytest.fixture
async def damaged_world(tmp_path: Path) -> tuple[World, dict[int, int], bytes]:
    world, ops = await world_with_unsent_notes(tmp_path, NOTES)
    pages = leaf_rowids(world.database, "cached_entity")
    scribble(world.database, [sorted(pages)[len(pages) // 2]])  # damage the cache, not the outbox
    return world, ops, world.database.read_bytes()


async def _started_after_the_kill(
    world: World, ops: dict[int, int], damaged: bytes, here: World, inject: str
) -> None:
    on_server = server_notes(world)
    before = {n: on_server(n) for n in ops.values()}
    agent = await here.open()
    try:
        notice = agent.profile.recovery
        told = notice.salvage if notice is not None else None
        if told is not None:  # this start salvaged, or finished the interrupted swap
            assert told.operations.recovered == NOTES, notice
            assert notice is not None and notice.moved_to.exists()
        else:  # the killed start had swapped the files in; its salvage is in the audit trail
            recorded = last_salvage(agent.store)
            assert recorded is not None and recorded.operations_recovered == NOTES
        assert (await agent.status()).pending == NOTES
        assert (await agent.verify_audit()).ok
        await agent.sync_now()
        await agent.sync_now()
        assert (await agent.status()).pending == 0
    finally:
        await agent.close()
    on_server = server_notes(world)  # the simulator's own records: each note arrived once more
    for n in ops.values():
        assert on_server(n) == before[n] + 1, (inject, n)
    assert not rebuild.temp_path(here.database).exists()
    kept = [p for p in here.database.parent.iterdir() if ".corrupt-" in p.name]
    assert kept and all(
        "-wal" in p.name or "-shm" in p.name or p.read_bytes() == damaged for p in kept
    )


@pytest.mark.parametrize("calls", CALLS)
async def test_a_kill_at_any_step_of_the_salvage_loses_no_unsent_work(
    tmp_path: Path, damaged_world: tuple[World, dict[int, int], bytes], calls: str
) -> None:
    world, ops, damaged = damaged_world
    started: dict[tuple[object, ...], int] = {}  # situation on disk -> the first kill leaving it
    n = 0
    while True:  # the N-th call for every N, until a start makes no N-th call and completes
        n += 1
        assert n <= 200, "a start keeps making these calls"
        case = tmp_path / f"case-{n}"
        shutil.copytree(world.data_dir, case)
        here = replace(world, data_dir=case)
        inject = f"inject={calls}:signal=SIGKILL:when={n}"
        killed = _start(here.database, "-e", inject)
        if killed.returncode == 0:
            break
        assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
        _state_is_safe(here.database, damaged)
        situation = _situation(here.database, damaged)
        if situation not in started:
            started[situation] = n
            await _started_after_the_kill(world, ops, damaged, here, inject)
        shutil.rmtree(case)
    assert n - 1 >= 2, "the salvage makes them"
