"""Strict argument types for the command line: every value is checked whole, so `2026-01-05x`
is refused instead of read as 2026-01-05, and a usage error is one line on stderr, exit 2.

Text arguments are checked to be real text: on POSIX Python decodes bytes that are not UTF-8 into
lone surrogates (surrogateescape), which must never reach the database, the queue or Autotask.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from datetime import date, datetime
from typing import Any, NoReturn

# SQLite's INTEGER is a signed 64-bit number; Autotask's ids are positive and fit in it.
MAX_ID = 2**63 - 1
_INT_RE = re.compile(r"[+-]?[0-9]+")
_TEMP_KEY_RE = re.compile(r"~[A-Za-z0-9_-]{1,64}")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (with where to find help), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def text(value: str) -> str:
    """Free text (a title, a note, a setting's value): refused when it is not valid Unicode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(
            f"{text_for(value)} is not valid UTF-8 text; check the terminal's encoding"
        ) from None
    return value


def path(value: str) -> str:
    """A file or folder name: not empty (an empty one would silently mean another place)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("give a file or folder name (got an empty one)")
    return value


def name(value: str) -> str:
    """A name (a profile, a setting): not empty, and valid text."""
    if not value.strip():
        raise argparse.ArgumentTypeError("give a name (got an empty one)")
    return text(value)


def json_or_text(value: str) -> Any:
    """A value given as JSON (a number, true, null, a list...) or else taken as plain text."""
    value = text(value)
    try:
        return json.loads(value, parse_constant=_no_constant)
    except json.JSONDecodeError:
        return value
    except RecursionError:
        raise argparse.ArgumentTypeError("the JSON value is nested too deeply") from None


def _no_constant(word: str) -> Any:
    raise argparse.ArgumentTypeError(f"{word} is not a value that can be stored")


def _integer(value: str, what: str) -> int:
    if not _INT_RE.fullmatch(value.strip()):
        raise argparse.ArgumentTypeError(f"{what} must be a whole number (got {text_for(value)})")
    return int(value)


def record_id(value: str) -> int:
    """The id of a ticket, operation, conflict, resource or role: 1 to 2**63-1."""
    number = _integer(value, "an id")
    if not 1 <= number <= MAX_ID:
        raise argparse.ArgumentTypeError(f"an id is a number from 1 to {MAX_ID} (got {number})")
    return number


def list_value(value: str) -> int:
    """A picklist value (status, priority, note type, ...): any whole number SQLite can hold;
    whether this tenant allows it is checked when the edit is captured."""
    number = _integer(value, "a list value")
    if not -MAX_ID - 1 <= number <= MAX_ID:
        raise argparse.ArgumentTypeError(f"a list value {number} is out of range")
    return number


MAX_COUNT = 1_000_000


def count(value: str) -> int:
    """A number of items to show: from 1 to a million."""
    number = _integer(value, "a count")
    if not 1 <= number <= MAX_COUNT:
        raise argparse.ArgumentTypeError(
            f"a count is a number from 1 to {MAX_COUNT:,} (got {text_for(str(number))})"
        )
    return number


def port(value: str) -> int:
    number = _integer(value, "a port")
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535 (got {number})")
    return number


def positive_number(value: str) -> float:
    """A finite number more than 0 (a speed-up factor, a share), written plainly."""
    if not re.fullmatch(r"\s*[0-9]*\.?[0-9]+\s*", value) or not float(value) > 0:
        raise argparse.ArgumentTypeError(
            f"give a number more than 0, like 1.5 (got {text_for(value)})"
        )
    return float(value)


def hours(value: str) -> float:
    """Hours worked: a finite number more than 0 and at most 24 (no `1.5abc`, NaN or inf)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not re.fullmatch(r"\s*[0-9]*\.?[0-9]+\s*", value) or not 0 < number <= 24:
        raise argparse.ArgumentTypeError(
            f"hours must be a number more than 0 and at most 24, like 1.5 (got {text_for(value)})"
        )
    return number


def day(value: str) -> str:
    """A date written YYYY-MM-DD, checked whole (returned in that form)."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a date is written like 2026-01-05 (got {text_for(value)})"
        ) from None


def moment(value: str) -> str:
    """A date and time in ISO 8601, like 2026-01-05T14:30:00Z (or a date alone), checked whole."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.+\-Z]+)?", value):
            raise ValueError(value)
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a date and time is written like 2026-01-05T14:30:00Z (got {text_for(value)})"
        ) from None
    return value


def time_entry_key(value: str) -> str:
    """A time entry: its Autotask id, or `~` and the temporary id of one not yet sent."""
    if _TEMP_KEY_RE.fullmatch(value):
        return value
    if _INT_RE.fullmatch(value):
        return str(record_id(value))
    raise argparse.ArgumentTypeError(
        f"a time entry is its id (a number) or ~ and its temporary id (got {text_for(value)})"
    )


def text_for(value: str, limit: int = 40) -> str:
    """`value` quoted for a message: shortened, and printable whatever bytes it came from."""
    shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    shown = shown.encode("unicode_escape").decode("ascii") if not shown.isprintable() else shown
    return f"'{shown}'" if len(shown) <= limit else f"'{shown[:limit]}...'"


def stderr_line(message: str) -> None:
    """One line on stderr, whatever the message holds (newlines folded, undecodable escaped,
    known secrets masked as in the log)."""
    from agent.logs import redact

    line = " ".join(redact(message).split())
    sys.stderr.write(line.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
    sys.stderr.flush()
