"""`salvage_world`'s profile with unsent notes, made once per session and copied into each test.

Making it (a first sync, then a note captured through the facade for each of `count`) costs the
same in every test that needs it; the copy is the same profile: its files, its keys (in the
test's own keyring) and a simulator built from the same seed, whose records are checked to equal
the ones the profile was synced with. The tenant is smaller than `new_world`'s: the tests damage
the outbox and the audit trail, whose size is the number of notes, not of tickets.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring

from agent.clock import FakeClock
from agent.credentials import InProcessKeyring
from agent.simulator import Simulator
from tests.store.salvage_world import NOTE, NOTES, World, profile_with_unsent_notes

TICKETS = 10


@dataclass(frozen=True)
class _Template:
    data_dir: Path
    ops: dict[int, int]
    clock_moved: float  # how far the profile's clock had moved when it was made
    records: dict[str, Any]  # the simulator's records after the first sync
    keys: dict[tuple[str, str], str]  # the profile's keyring entries


_templates: dict[int, _Template] = {}


def small_world(data_parent: Path) -> World:
    """A world like `new_world`'s (its data folder `data_parent / "data"`) on TICKETS tickets."""
    clock = FakeClock()
    sim = Simulator(seed="salvage", tickets=TICKETS, clock=clock)
    sim.limits.latency_enabled = False
    return World(sim, clock, data_parent / "data")


async def _make(count: int) -> _Template:
    where = Path(tempfile.mkdtemp(prefix=f"salvage-template-{count}-"))
    atexit.register(shutil.rmtree, where, True)
    previous = keyring.get_keyring()
    own = InProcessKeyring()
    keyring.set_keyring(own)
    try:
        world = small_world(where)
        ops = await profile_with_unsent_notes(world, count)
    finally:
        keyring.set_keyring(previous)
    return _Template(
        world.data_dir,
        ops,
        world.clock.monotonic() - FakeClock().monotonic(),
        world.sim.dump(),
        dict(own._values),
    )


async def world_with_unsent_notes(
    data_parent: Path, count: int = NOTES
) -> tuple[World, dict[int, int]]:
    """`profile_with_unsent_notes(small_world(data_parent), count)`, from the session's copy."""
    template = _templates.get(count)
    if template is None:
        template = _templates[count] = await _make(count)
    world = small_world(data_parent)
    world.clock.advance(template.clock_moved)
    assert world.sim.dump() == template.records, "the same seed makes the same tenant"
    shutil.copytree(template.data_dir, world.data_dir)
    current = keyring.get_keyring()
    for (service, username), value in template.keys.items():
        current.set_password(service, username, value)
    return world, dict(template.ops)


def server_notes(world: World) -> Callable[[int], int]:
    """`world.notes_on_server` read once: how many notes with the n-th text the simulator holds
    now, from one copy of its records (not one copy for every number asked)."""
    held = Counter(v["description"] for v in world.sim.dump()["TicketNotes"].values())
    return lambda n: held[NOTE.format(n)]
