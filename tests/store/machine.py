"""Real machine conditions for tests: a small tmpfs to fill, a read-only bind mount, `chattr +i`.

They need root (mount, chattr). Without it a test skips locally, and fails in CI (CI=true),
where it must run.
"""

from __future__ import annotations

import contextlib
import os
import random
import string
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.store import Store


def _refused(what: str, detail: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI: {detail}")
    pytest.skip(f"{what} is not permitted here ({detail})")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "4m") -> Iterator[Path]:
    """A fresh tmpfs of `size` mounted on `where` (created), unmounted afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
    if done.returncode != 0:
        _refused("mounting a tmpfs", done.stderr.strip() or f"exit {done.returncode}")
    try:
        yield where
    finally:
        for path in where.rglob("*"):  # an immutable file would keep nothing from unmounting,
            _run("chattr", "-i", str(path))  # but would survive a later remount of this folder
        if _run("umount", str(where)).returncode != 0:
            _run("umount", "-l", str(where))


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system holding `folder` (up to `leave` bytes short of full); returns the
    filler file, whose removal gives the space back."""
    filler = folder / "filler.bin"
    chunk = b"\0" * 65536
    # Unbuffered: a chunk the disk could not take is not left in a buffer to fail again on close.
    with filler.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError:
            pass
    if leave:
        size = filler.stat().st_size
        os.truncate(filler, max(0, size - leave))
    return filler


@contextlib.contextmanager
def read_only_view(folder: Path, where: Path) -> Iterator[Path]:
    """`folder` seen read-only at `where` (a read-only bind mount)."""
    where.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "--bind", str(folder), str(where))
    if done.returncode != 0:
        _refused("a bind mount", done.stderr.strip() or f"exit {done.returncode}")
    try:
        done = _run("mount", "-o", "remount,bind,ro", str(where))
        if done.returncode != 0:
            _refused("a read-only remount", done.stderr.strip())
        yield where
    finally:
        if _run("umount", str(where)).returncode != 0:
            _run("umount", "-l", str(where))


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """`path` marked immutable (`chattr +i`: not even root may write, rename or delete it)."""
    done = _run("chattr", "+i", str(path))
    if done.returncode != 0:
        _refused("chattr +i", done.stderr.strip() or f"exit {done.returncode}")
    try:
        yield path
    finally:
        _run("chattr", "-i", str(path))


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def limit_pages(store: Store, extra: int = 0) -> None:
    """Let the database grow by at most `extra` pages, on every connection, present and future
    (`PRAGMA max_page_count` is per connection): past it SQLite answers SQLITE_FULL."""
    pages = store.read(lambda: store.db.execute_sql("PRAGMA page_count").fetchone()[0])
    _set_max_pages(store, pages + extra)


def unlimit_pages(store: Store) -> None:
    """Space is back."""
    _set_max_pages(store, 1_073_741_823)


def _set_max_pages(store: Store, pages: int) -> None:
    db: Any = store.db
    db._pragmas = [(k, v) for k, v in db._pragmas if k != "max_page_count"]
    db._pragmas.append(("max_page_count", pages))
    with db._all_lock:
        for conn in db._all:
            conn.execute(f"PRAGMA max_page_count = {pages}")


def fill_pages(store: Store) -> None:
    """`limit_pages`, then use up the free pages and the room left in them: after this, a write
    that adds anything but a few bytes fails with SQLITE_FULL."""
    from agent.store.errors import DiskFullError

    store.write(lambda: store.db.execute_sql("CREATE TABLE IF NOT EXISTS test_fill (b BLOB)"))
    limit_pages(store)
    size = 1 << 16
    while size >= 8:
        try:
            store.write(
                lambda n=size: store.db.execute_sql(
                    "INSERT INTO test_fill VALUES (zeroblob(?))", (n,)
                )
            )
        except DiskFullError:
            size //= 2


def incompressible(size: int, seed: int = 7) -> str:
    """Text that does not compress (stored payloads are compressed, so it really takes room)."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + " ") for _ in range(size))
