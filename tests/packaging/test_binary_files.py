"""Files the program creates through `os.open` are opened in binary mode where that exists.

On Windows a descriptor from `os.open` without `O_BINARY` is in text mode: every newline byte
written through it becomes CR LF, which corrupts a zip, a database or already-encoded text. Linux
has no such flag, so the tests give `os` one and check that it reaches every call.
"""

from __future__ import annotations

import ast
import logging
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.monitor.diagnostics import run_cli
from agent.profile import Profile, open_profile
from agent.security.permissions import binary_flags, create_private_file, private_text_file

ROOT = Path(__file__).resolve().parents[2]
FAKE_O_BINARY = 0x4000_0000  # a bit no Linux open flag uses


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Give `os` an O_BINARY of its own and record the flags of every `os.open` (before the real
    call the bit is replaced by the platform's own O_BINARY, if any)."""
    calls: list[tuple[str, int]] = []
    real_open = os.open
    real_binary = getattr(os, "O_BINARY", 0)  # Windows has one: it is passed on

    def recording_open(path: str | os.PathLike[str], flags: int, *args: int, **kw: int) -> int:
        calls.append((os.fspath(path), flags))
        if flags & FAKE_O_BINARY:
            flags = flags & ~FAKE_O_BINARY | real_binary
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "O_BINARY", FAKE_O_BINARY, raising=False)
    monkeypatch.setattr(os, "open", recording_open)
    return calls


def created(calls: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(path, flags) for path, flags in calls if flags & os.O_CREAT]


def test_binary_flags_adds_the_platforms_flag_only_where_it_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(os, "O_BINARY", raising=False)
    assert binary_flags(os.O_WRONLY) == os.O_WRONLY
    monkeypatch.setattr(os, "O_BINARY", FAKE_O_BINARY, raising=False)
    assert binary_flags(os.O_WRONLY | os.O_CREAT) == os.O_WRONLY | os.O_CREAT | FAKE_O_BINARY


def test_the_diagnostics_bundle_is_written_in_binary_mode_and_is_a_sound_zip(
    data_dir: Path, tmp_path: Path, opened: list[tuple[str, int]]
) -> None:
    profile: Profile = open_profile(data_dir, "field")
    try:
        out = run_cli(profile, tmp_path / "support.zip")
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_field_sync", False):
                logging.getLogger().removeHandler(handler)
                handler.close()
        profile.close()
    bundle = [flags for path, flags in opened if path.endswith("support.zip.partial")]
    assert len(bundle) == 1 and bundle[0] & FAKE_O_BINARY
    # The database, its lock and the log were created through os.open too, all in binary mode.
    made = created(opened)
    assert any(path.endswith("agent.sqlite3") for path, _ in made)
    assert all(flags & FAKE_O_BINARY for _, flags in made), made
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert "README.txt" in archive.namelist()


def test_exports_and_private_files_are_created_in_binary_mode(
    tmp_path: Path, opened: list[tuple[str, int]]
) -> None:
    create_private_file(tmp_path / "db" / "agent.sqlite3")
    with private_text_file(tmp_path / "audit.csv", newline="") as fh:
        fh.write("id,summary\r\n1,two\nlines\r\n")
    made = created(opened)
    assert [Path(p).name for p, _ in made] == ["agent.sqlite3", "audit.csv.partial"]
    assert all(flags & FAKE_O_BINARY for _, flags in made)
    # Python translates newlines itself (here: none); the bytes on disk are what was written.
    assert (tmp_path / "audit.csv").read_bytes() == b"id,summary\r\n1,two\nlines\r\n"


def _os_open_calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "open"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "os"
        ):
            yield node


def test_every_os_open_that_creates_a_file_asks_for_binary_mode() -> None:
    """Opens that create a file (and so may write to it) go through `binary_flags`; the others
    only probe a file (read-only or read-write, closed at once) or point stdout at the null
    device, and write nothing."""
    creating, unwrapped = [], []
    sources = [*ROOT.joinpath("agent").rglob("*.py"), *ROOT.joinpath("ui").rglob("*.py")]
    for source in sorted(sources):
        for call in _os_open_calls(source):
            flags = call.args[1]
            where = f"{source.relative_to(ROOT)}:{call.lineno}"
            if "O_CREAT" not in ast.unparse(flags):
                continue
            creating.append(where)
            wrapped = (
                isinstance(flags, ast.Call)
                and isinstance(flags.func, ast.Name)
                and flags.func.id == "binary_flags"
            )
            if not wrapped:
                unwrapped.append(where)
    assert len(creating) >= 6, creating  # the scan sees the calls it is meant to see
    assert unwrapped == []
