"""A real profile with real unsent work (captured through the facade, against the simulator), and
the ground truth of where its rows sit in the file, to damage it precisely."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.api.facade import Agent, AgentOptions
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator

BASE = "http://sim.test"
NOTE = "salvage check note {:03d}"
NOTES = 120


async def _online() -> bool:
    return True


@dataclass
class World:
    sim: Simulator
    clock: FakeClock
    data_dir: Path

    def options(self) -> AgentOptions:
        return AgentOptions(
            data_dir=self.data_dir,
            directory_url=BASE + "/ATServicesRest/",
            transport=httpx.ASGITransport(app=self.sim.app),
            clock=self.clock,
            credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            technician_resource_id=self.sim.technician_resource_id,
            probe=_online,
            sample_metrics=False,
        )

    async def open(self) -> Agent:
        return await Agent.open(self.options())

    @property
    def database(self) -> Path:
        return self.data_dir / "profiles" / "default" / "agent.sqlite3"

    def notes_on_server(self, n: int) -> int:
        """How many notes with the n-th text the simulator holds (its own records)."""
        text = NOTE.format(n)
        return sum(1 for v in self.sim.dump()["TicketNotes"].values() if v["description"] == text)


def new_world(tmp_path: Path) -> World:
    clock = FakeClock()
    sim = Simulator(seed="salvage", tickets=40, clock=clock)
    sim.limits.latency_enabled = False
    return World(sim, clock, tmp_path / "data")


async def capture_notes(agent: Agent, count: int) -> dict[int, int]:
    """Queue `count` new notes (texts NOTE.format(i)); returns op id -> note number."""
    tickets = [t.id for t in await agent.my_tickets()]
    lists = await agent.picklists("TicketNotes")
    ops: dict[int, int] = {}
    for i in range(count):
        result = await agent.add_note(
            tickets[i % len(tickets)],
            NOTE.format(i),
            title="Salvage",
            note_type=min(lists["noteType"]),
            publish=min(lists["publish"]),
        )
        assert result.op_id is not None
        ops[result.op_id] = i
    return ops


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    value = 0
    for n in range(9):
        byte = buf[at + n]
        if n == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + n + 1
    raise AssertionError("unreachable")


def leaf_rowids(path: Path, table: str) -> dict[int, list[int]]:
    """Page number -> rowids of the table leaf pages of `table` (via dbstat and the page bytes)."""
    conn = sqlite3.connect(path)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            r[0]
            for r in conn.execute(
                "SELECT pageno FROM dbstat WHERE name=? AND pagetype='leaf'", (table,)
            )
        ]
    finally:
        conn.close()
    raw = path.read_bytes()
    result: dict[int, list[int]] = {}
    for pageno in pages:
        page = raw[(pageno - 1) * size : pageno * size]
        assert page[0] == 0x0D, "a table leaf page"
        cells = int.from_bytes(page[3:5], "big")
        rowids = []
        for c in range(cells):
            ptr = int.from_bytes(page[8 + 2 * c : 10 + 2 * c], "big")
            _, at = _varint(page, ptr)
            rowids.append(_varint(page, at)[0])
        result[pageno] = rowids
    return result


def scribble(path: Path, pages: list[int], seed: int = 7) -> None:
    """Write random bytes over whole pages (1-based numbers) of the file."""
    with closing(sqlite3.connect(path)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(path.read_bytes())
    rnd = random.Random(seed)
    for pageno in pages:
        start = (pageno - 1) * size
        raw[start : start + size] = rnd.randbytes(size)
    path.write_bytes(bytes(raw))


async def profile_with_unsent_notes(world: World, count: int = NOTES) -> dict[int, int]:
    """A profile after its first sync with `count` notes queued and not sent; op id -> number."""
    agent = await world.open()
    try:
        report = await agent.sync_now()
        assert report is not None and report.error is None, report
        ops = await capture_notes(agent, count)
        assert (await agent.status()).pending == count
    finally:
        await agent.close()
    assert not world.database.with_name("agent.sqlite3-wal").exists()
    return ops


def _serial_size(code: int) -> int:
    if code >= 12:
        return (code - 12) // 2 if code % 2 == 0 else (code - 13) // 2
    return {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8, 8: 0, 9: 0}[code]


def value_span(path: Path, table: str, column: str, rowid: int) -> tuple[int, int]:
    """Where (file offset, length) the stored value of one row's column lies, read from the
    page bytes (for writing into one value and nothing else)."""
    with closing(sqlite3.connect(path)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    raw = path.read_bytes()
    for pageno, rowids in leaf_rowids(path, table).items():
        if rowid not in rowids:
            continue
        base = (pageno - 1) * size
        page = raw[base : base + size]
        c = rowids.index(rowid)
        ptr = int.from_bytes(page[8 + 2 * c : 10 + 2 * c], "big")
        _, at = _varint(page, ptr)
        _, at = _varint(page, at)
        header_size, pos = _varint(page, at)
        codes = []
        while pos < at + header_size:
            code, pos = _varint(page, pos)
            codes.append(code)
        offset = at + header_size
        for name, code in zip(names, codes, strict=False):
            if name == column:
                return base + offset, _serial_size(code)
            offset += _serial_size(code)
    raise AssertionError(f"row {rowid} of {table} not found")
