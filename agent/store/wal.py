"""Reading a database's write-ahead log (-wal) ourselves: is it damaged, and what did it commit?

SQLite never reports a damaged WAL: it ignores a WAL whose header is invalid and stops reading at
the first frame whose checksum fails (that is how it treats a torn write after a crash), so the
committed transactions after the damage, or all of them, are silently dropped and the next
checkpoint deletes the evidence. So the WAL is checked here, before SQLite opens the database.

Format (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte header (magic 0x377f0682 or
0x377f0683, version, page size, checkpoint sequence, salt-1, salt-2, checksum of the first 24
bytes), then frames of a 24-byte header (page number, database size in pages for a commit frame
else 0, salt-1, salt-2, cumulative checksum) and one page. A frame belongs to the current
generation when its salts equal the header's; frames of an older generation (after a WAL reset)
are left over and ignored. Each frame's checksum continues from the one stored in the frame
before, so a frame can be checked on its own ("locally") even after an earlier failure.

The rule (damage vs. a torn last write after a crash, which is normal):
- an empty WAL, or one too short to hold a frame, is never damage;
- a WAL long enough to hold a frame whose header magic or header checksum is wrong is damage
  unless it holds nothing but zeros (a file extended by a crash before its bytes were written);
- a frame of the current generation whose checksum fails is damage when a later transaction
  (after the commit frame that ends the failed frame's own one) ends in a locally sound commit
  frame: a later commit was fully written, so the failure is not the torn tail of the last write.
  Incomplete trailing frames, and failures inside the last transaction (even when its commit
  frame happens to be whole: unsynced frames may reach the disk in any order), are the torn last
  write: not damage, and SQLite rightly drops that transaction.

`committed_pages` rebuilds what the WAL committed, as far as it can be read: every frame of the
current generation up to the last commit frame; a frame whose checksum fails leaves its page
unreadable (see there); with a broken header, the page size and salts are inferred from the
frames themselves.

Written by hand: no maintained Python library parses SQLite WAL files.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

MAGICS = {0x377F0682: "<", 0x377F0683: ">"}  # checksum word order: little / big endian
PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)
HEADER, FRAME_HEADER = 32, 24


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def _checksum(data: bytes, order: str, s0: int = 0, s1: int = 0) -> tuple[int, int]:
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


@dataclass(frozen=True)
class Frame:
    index: int
    pgno: int
    commit: int  # database size in pages after this commit, 0 for a frame inside a transaction
    salts: tuple[int, int]
    stored: tuple[int, int]  # the cumulative checksum it carries
    sound: bool  # its checksum holds, continuing from the frame before (or the header)
    data: bytes


@dataclass(frozen=True)
class Wal:
    header_ok: bool
    page_size: int
    salts: tuple[int, int]
    frames: list[Frame]

    def current(self) -> Iterator[Frame]:
        return (f for f in self.frames if f.salts == self.salts)


def _frames(raw: bytes, size: int, order: str, seed: tuple[int, int] | None) -> list[Frame]:
    frames: list[Frame] = []
    prev = seed
    step = FRAME_HEADER + size
    for i, at in enumerate(range(HEADER, len(raw) - step + 1, step)):
        head = raw[at : at + FRAME_HEADER]
        pgno, commit, salt1, salt2, c0, c1 = struct.unpack(">6I", head)
        data = raw[at + FRAME_HEADER : at + step]
        sound = False
        if prev is not None:
            sound = _checksum(head[:8] + data, order, *prev) == (c0, c1)
        frames.append(Frame(i, pgno, commit, (salt1, salt2), (c0, c1), sound, data))
        prev = (c0, c1)
    return frames


def _parse_header(raw: bytes) -> Wal | None:
    magic, _version, size, _seq, salt1, salt2, c0, c1 = struct.unpack(">8I", raw[:HEADER])
    order = MAGICS.get(magic)
    if order is None or size not in PAGE_SIZES or _checksum(raw[:24], order) != (c0, c1):
        return None
    return Wal(True, size, (salt1, salt2), _frames(raw, size, order, (c0, c1)))


def _infer(raw: bytes) -> Wal | None:
    """Page size, word order and salts from the frames alone (the header is gone): the layout
    under which the most frames after the first check out against the frame before them."""
    best: Wal | None = None
    best_score = 0
    for size in PAGE_SIZES:
        if len(raw) < HEADER + 2 * (FRAME_HEADER + size):
            continue
        for order in set(MAGICS.values()):
            frames = _frames(raw, size, order, None)
            # all-zero bytes check out trivially: only frames that carry something count
            sound = [f for f in frames if f.sound and f.pgno and f.stored != (0, 0)]
            if len(sound) > best_score:
                votes = [f.salts for f in sound]
                salts = max(set(votes), key=votes.count)
                best, best_score = Wal(False, size, salts, frames), len(sound)
    if best is not None and best.frames[0].salts == best.salts and best.frames[1].sound:
        # The first frame cannot be checked (its checksum continued the lost header's), but the
        # second continues from the checksum it carries: take it as written.
        best.frames[0] = replace(best.frames[0], sound=True)
    return best


def _raw(db: Path) -> bytes | None:
    try:
        return wal_path(db).read_bytes()
    except FileNotFoundError:
        return None


def _long_enough(raw: bytes) -> bool:
    return len(raw) >= HEADER + FRAME_HEADER + min(PAGE_SIZES)


def parse(raw: bytes) -> Wal | None:
    """The WAL parsed; None when it holds no frame or (with a broken header) no layout of
    frames can be recognised."""
    if not _long_enough(raw):
        return None
    return _parse_header(raw) or _infer(raw)


def read(db: Path) -> Wal | None:
    raw = _raw(db)
    return None if raw is None else parse(raw)


def damage(db: Path) -> str | None:
    """Why the WAL beside `db` is damaged (see the rule above), or None."""
    raw = _raw(db)
    if raw is None or not _long_enough(raw):
        return None
    wal = parse(raw)
    if wal is None or not wal.header_ok:
        if raw.count(0) == len(raw):
            return None
        return "the write-ahead log's header is invalid (its committed changes would be ignored)"
    failed: Frame | None = None
    ended = False  # the transaction holding the failed frame has reached its commit frame
    for frame in wal.current():
        if failed is None:
            failed = None if frame.sound else frame
            ended = failed is not None and bool(frame.commit)
        elif frame.commit and ended and frame.sound:
            return (
                f"frame {failed.index + 1} of the write-ahead log is damaged, and a later "
                f"commit (frame {frame.index + 1}) was written after it"
            )
        elif frame.commit:
            ended = True
    return None


def holds_commits(db: Path) -> bool:
    """Whether the WAL beside `db` holds a committed transaction (sound or not)."""
    wal = read(db)
    return wal is not None and committed_pages(wal)[1] > 0


def committed_pages(wal: Wal) -> tuple[dict[int, bytes], int]:
    """Page number -> its last committed content, and the database size in pages at the last
    commit (0 when nothing was committed). A page whose last frame fails its checksum becomes
    zeros (so reading it fails and its rows count as unreadable), never an older version, which
    could show a finished operation as still to send; page 1 (the schema) is the exception."""
    frames = list(wal.current())
    last = max((i for i, f in enumerate(frames) if f.commit and f.sound), default=-1)
    if last < 0:  # no sound commit frame: a commit frame with its salts intact still ends one
        last = max((i for i, f in enumerate(frames) if f.commit and f.pgno), default=-1)
    if last < 0:
        return {}, 0
    size = frames[last].commit
    pages: dict[int, bytes] = {}
    for f in frames[: last + 1]:
        if not 0 < f.pgno <= size:
            continue
        if f.sound:
            pages[f.pgno] = f.data
        elif f.pgno != 1:
            pages[f.pgno] = bytes(wal.page_size)
    return pages, size


def apply(wal: Wal, target: Path) -> bool:
    """Write what the WAL committed into the main file `target` (a private copy); whether any
    page was written."""
    pages, size = committed_pages(wal)
    if not pages:
        return False
    with target.open("r+b") as fh:
        for pgno, data in sorted(pages.items()):
            fh.seek((pgno - 1) * wal.page_size)
            fh.write(data)
        fh.truncate(size * wal.page_size)
    return True
