"""A real profile on a computer without a system keyring (the command line runs here with none, as
in the child processes, which have none): one coherent behaviour. Reading commands work and say
that nothing is encrypted; a command that would store customer data in clear is refused in one
line unless the user allows it."""

from __future__ import annotations

from pathlib import Path

from tests.core.cli_inproc import cli
from tests.core.cli_run import rows

NOTE = ["edit", "note", "1", "--type", "1", "--publish", "1", "--text"]


def outbox(data: Path) -> list[tuple[object, ...]]:
    return rows(data, "SELECT id, fields FROM outbox_op ORDER BY id", profile="default")


def test_reading_works_and_writing_in_clear_needs_consent(tmp_path: Path) -> None:
    ran = cli(tmp_path, "status", demo=False)
    assert ran.code == 0, ran.err
    assert "no_keyring" in ran.out and "--allow-unencrypted" in ran.out
    line = cli(tmp_path, *NOTE, "kept off the disk", demo=False).refused_in_one_line()
    assert "keyring" in line and "--allow-unencrypted" in line
    assert outbox(tmp_path) == []
    ran = cli(tmp_path, "queue", "list", demo=False)
    assert ran.code == 0 and "0 operation(s)" in ran.out, ran.err
    ran = cli(tmp_path, "--allow-unencrypted", *NOTE, "stored in clear, as allowed", demo=False)
    assert ran.code == 0 and "queued as operation" in ran.out, ran.err
    assert "stored in clear, as allowed" in str(outbox(tmp_path))
    ran = cli(tmp_path, "--allow-unencrypted", "status", demo=False)
    assert ran.code == 0 and "clear_no_keyring" in ran.out


def test_headless_without_a_keyring_says_why_in_one_line(tmp_path: Path) -> None:
    line = cli(tmp_path, "--headless", demo=False).refused_in_one_line()
    assert "keyring" in line
