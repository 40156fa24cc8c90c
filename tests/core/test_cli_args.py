"""The command line's argument types accept what a person would type and nothing looser."""

from __future__ import annotations

import argparse

import pytest

from agent import cli_args


@pytest.mark.parametrize(
    ("kind", "given", "read"),
    [
        (cli_args.record_id, "42", 42),
        (cli_args.record_id, str(2**63 - 1), 2**63 - 1),
        (cli_args.list_value, "0", 0),
        (cli_args.day, "2026-01-05", "2026-01-05"),
        (cli_args.moment, "2026-01-05T14:30:00Z", "2026-01-05T14:30:00Z"),
        (cli_args.moment, "2026-01-05", "2026-01-05"),
        (cli_args.hours, "1.5", 1.5),
        (cli_args.hours, "24", 24.0),
        (
            cli_args.time_entry_key,
            "~5b74431e455e4f229c96745977b8e734",
            "~5b74431e455e4f229c96745977b8e734",
        ),
        (cli_args.time_entry_key, "0017", "17"),
        (cli_args.json_or_text, "3", 3),
        (cli_args.json_or_text, "Waiting on customer", "Waiting on customer"),
        (cli_args.text, "Ünïcode ✓", "Ünïcode ✓"),
    ],
)
def test_ordinary_values_are_read(kind: object, given: str, read: object) -> None:
    assert kind(given) == read  # type: ignore[operator]


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (cli_args.record_id, str(2**63)),
        (cli_args.list_value, str(10**22)),
        (cli_args.day, "2026-02-30"),
        (cli_args.day, "2026-01-05T10:00:00Z"),
        (cli_args.hours, "24.01"),
        (cli_args.hours, "1e1"),
        (cli_args.time_entry_key, "~"),
        (cli_args.json_or_text, "Infinity"),
        (cli_args.text, "a\udcffb"),
        (cli_args.name, "  "),
        (cli_args.port, "-1"),
    ],
)
def test_loose_values_are_refused(kind: object, given: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        kind(given)  # type: ignore[operator]
