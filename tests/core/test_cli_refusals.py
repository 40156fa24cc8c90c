"""Bad input on the real command line is refused in one line on stderr with exit status 2, no
traceback, and nothing is written: unknown ids, ids too large or not positive, loose dates and
numbers, text that is not UTF-8, empty names.

The command line's `main` runs in this process as it would in a child (`tests.core.cli_inproc`);
raw argv that is not UTF-8 also goes through a real `python -m agent`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core import cli_run
from tests.core.cli_inproc import cli
from tests.core.cli_run import rows

HUGE = str(10**22)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo profile with one queued edit (created once for the module)."""
    data = tmp_path_factory.mktemp("cli-refusals")
    ran = cli(data, "edit", "note", "1", "--text", "kept", "--type", "1", "--publish", "1")
    assert ran.code == 0, ran.err
    return data


def outbox(data: Path) -> list[tuple[object, ...]]:
    return rows(data, "SELECT id, state, fields FROM outbox_op ORDER BY id")


@pytest.mark.socket
@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["queue", "retry", "9999"], "no outbox operation #9999"),
        (["queue", "discard", "9999"], "no outbox operation #9999"),
        (["edit", "time-delete", "nosuchkey"], "a time entry is its id"),
        (["edit", "time-delete", "99999"], "time entry 99999 does not exist"),
        (["conflicts", "resolve", "9999", "--mine"], "no conflict #9999"),
    ],
)
def test_unknown_ids_are_one_line_and_change_nothing(
    demo_data: Path, argv: list[str], said: str
) -> None:
    before = outbox(demo_data)
    line = cli(demo_data, *argv).refused_in_one_line()
    assert said in line.lower() or said in line
    assert outbox(demo_data) == before


HUGE_ID_COMMANDS = [
    ["edit", "ticket", HUGE, "--status", "1"],
    ["edit", "ticket", "1", "--assign", HUGE, "1"],
    ["edit", "note", HUGE, "--text", "t", "--type", "1", "--publish", "1"],
    ["edit", "time", HUGE, "--date", "2026-01-05", "--hours", "1", "--summary", "s", "--role", "1"],
    ["edit", "time", "1", "--date", "2026-01-05", "--hours", "1", "--summary", "s", "--role", HUGE],
    ["edit", "time-delete", HUGE],
    ["queue", "retry", HUGE],
    ["queue", "discard", HUGE],
    ["conflicts", "resolve", HUGE, "--theirs"],
]


@pytest.mark.parametrize("argv", HUGE_ID_COMMANDS)
def test_an_id_too_large_for_the_database_is_refused_in_every_command(
    tmp_path: Path, argv: list[str]
) -> None:
    line = cli(tmp_path, *argv).refused_in_one_line()
    assert f"from 1 to {2**63 - 1} (got {HUGE})" in line
    assert not (tmp_path / "profiles").exists()  # refused before anything was opened


@pytest.mark.parametrize("bad", ["0", "-3", "1.5", "7x", "", "١٢"])
def test_ids_must_be_positive_whole_numbers(tmp_path: Path, bad: str) -> None:
    line = cli(tmp_path, "edit", "ticket", bad, "--status", "1").refused_in_one_line()
    assert "argument ticket_id" in line
    assert not (tmp_path / "profiles").exists()


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--date", "2026-01-05garbage", "a date is written like 2026-01-05"),
        ("--date", "2026-13-05", "a date is written like 2026-01-05"),
        ("--date", "05/01/2026", "a date is written like 2026-01-05"),
        ("--hours", "1.5abc", "hours must be a number"),
        ("--hours", "nan", "hours must be a number"),
        ("--hours", "inf", "hours must be a number"),
        ("--hours", "-1", "hours must be a number"),
        ("--hours", "0", "hours must be a number"),
        ("--hours", "25", "hours must be a number"),
        ("--start", "2026-01-05T09:00:00Zjunk", "a date and time is written like"),
    ],
)
def test_dates_and_numbers_are_read_whole(
    tmp_path: Path, option: str, value: str, said: str
) -> None:
    argv = {"--date": "2026-01-05", "--hours": "1", "--summary": "s", "--role": "1"}
    argv[option] = value
    flat = [x for pair in argv.items() for x in pair]
    line = cli(tmp_path, "edit", "time", "1", *flat).refused_in_one_line()
    assert said in line and option in line


def test_a_loose_due_date_is_refused(tmp_path: Path) -> None:
    line = cli(tmp_path, "edit", "ticket", "1", "--due", "2026-01-05x").refused_in_one_line()
    assert "--due" in line


NOT_UTF8 = b"\xff\xfe"


NOTE = [b"edit", b"note", b"1", b"--type", b"1", b"--publish", b"1"]
TIME = [b"edit", b"time", b"1", b"--date", b"2026-01-05", b"--hours", b"1", b"--role", b"1"]


@pytest.mark.socket
@pytest.mark.parametrize(
    "argv",
    [
        [*NOTE, b"--text", NOT_UTF8],
        [*NOTE, b"--text", b"ok", b"--title", b"a" + NOT_UTF8],
        [b"edit", b"ticket", b"1", b"--title", NOT_UTF8],
        [*TIME, b"--summary", NOT_UTF8],
        [b"conflicts", b"resolve", b"1", b"--value", NOT_UTF8],
        [b"settings", b"set", b"redis_url", b"redis://" + NOT_UTF8],
    ],
)
def test_text_that_is_not_utf8_is_refused_and_never_stored(
    demo_data: Path, argv: list[bytes]
) -> None:
    before = outbox(demo_data)
    line = cli(demo_data, *argv).refused_in_one_line()
    assert "not valid UTF-8" in line and "\\xff\\xfe" in line
    assert outbox(demo_data) == before
    settings = rows(demo_data, "SELECT * FROM setting")
    stored = [str(v) for row in settings for v in row]
    assert not any("\\udc" in v or any(0xD800 <= ord(c) <= 0xDFFF for c in v) for v in stored)


@pytest.mark.socket
def test_raw_argv_that_is_not_utf8_is_refused_by_the_real_command(demo_data: Path) -> None:
    """The interpreter's own decoding of a child's raw argv (in process it is imitated)."""
    before = outbox(demo_data)
    line = cli_run.cli(demo_data, *NOTE, b"--text", NOT_UTF8).refused_in_one_line()
    assert "not valid UTF-8" in line and "\\xff\\xfe" in line
    assert outbox(demo_data) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "", "settings", "list"],  # would mean the platform's own folder
        ["--profile", "", "settings", "list"],  # would mean the default profile
        ["audit", "export", "--output", ""],
        ["diagnostics", "--output", " "],
        ["settings", "set", "", "1"],
        ["queue", "list", "--limit", "0"],
        ["--metrics-port", "70000", "--headless"],
    ],
)
def test_empty_names_and_out_of_range_options_are_refused(tmp_path: Path, argv: list[str]) -> None:
    cli(tmp_path, *argv, demo=False).refused_in_one_line()
    assert not any(tmp_path.iterdir())  # refused before any folder was made


@pytest.mark.socket
def test_a_deeply_nested_or_non_finite_value_is_refused(demo_data: Path) -> None:
    line = cli(
        demo_data, "conflicts", "resolve", "1", "--value", "[" * 50_000
    ).refused_in_one_line()
    assert "nested too deeply" in line
    line = cli(demo_data, "conflicts", "resolve", "1", "--value", "NaN").refused_in_one_line()
    assert "NaN is not a value" in line


@pytest.mark.socket
def test_an_export_to_a_missing_folder_or_onto_a_folder_is_one_line(
    demo_data: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such" / "audit.csv"
    line = cli(demo_data, "audit", "export", "--output", str(missing)).refused_in_one_line()
    assert str(missing) in line and "No such file or directory" in line
    line = cli(demo_data, "audit", "export", "--output", str(tmp_path)).refused_in_one_line()
    assert str(tmp_path) in line


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    line = cli(a_file, "settings", "list", demo=False).refused_in_one_line()
    assert str(a_file) in line and "--data-dir" in line


@pytest.mark.socket
@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["queue", "list", "--limit", "99999999999999999999999"], "a count is a number"),
        (["settings", "set", "redis_url", "redis://u:p@[::1"], "redis url"),
        (["settings", "set", "redis_url", "http://server:6379"], "redis url"),
        (["settings", "set", "redis_url", "redis://office.example:6379/0"], "rediss://"),
        (["settings", "set", "redis_url", "rediss://o.example/0?ssl_cert_reqs=none"], "ssl_cert"),
    ],
)
def test_values_out_of_range_or_malformed_are_one_line(
    demo_data: Path, argv: list[str], said: str
) -> None:
    settings = rows(demo_data, "SELECT key, value FROM setting ORDER BY key")
    line = cli(demo_data, *argv).refused_in_one_line()
    assert said in line.lower(), line
    assert rows(demo_data, "SELECT key, value FROM setting ORDER BY key") == settings
