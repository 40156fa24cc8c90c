"""Reading Autotask's JSON: case-insensitive keys, typed values and ISO date-times.

Autotask matches property names without regard to case, so everything we read goes through
`lookup` rather than `payload["name"]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]
# ASCII digits only, as .NET writes and reads them: str.isdigit() and int() also take other
# scripts' digits and "²", which no Autotask number holds. Longer than any 64-bit number: no.
_WHOLE = re.compile(r"-?[0-9]{1,20}", re.ASCII)
# A lone surrogate: what the JSON escape `\ud800` (or any half of a pair alone) reads as. Text
# holding one cannot be written as UTF-8 (not to SQLite, a log, the queue nor back to Autotask).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class WireTypeError(ValueError):
    """A value on the wire does not have the type its field needs."""


def lookup(payload: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """`payload[name]` ignoring case; an exact match wins over a case-folded one."""
    if name in payload:
        return payload[name]
    folded = name.casefold()
    for key, value in payload.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    return default


def unwritable(text: str) -> bool:
    """Whether `text` holds a lone surrogate, so that it cannot be written as UTF-8."""
    return _LONE_SURROGATE.search(text) is not None


def mended(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (for text that is only shown)."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def as_int(value: Any, name: str) -> int | None:
    """An integer field; accepts whole floats and digit strings, refuses booleans."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise WireTypeError(f"{name} should be a number, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value)
    raise WireTypeError(f"{name} should be a whole number")


def as_float(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireTypeError(f"{name} should be a number")
    return float(value)


def as_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise WireTypeError(f"{name} should be text")
    return value


def as_bool(value: Any, name: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise WireTypeError(f"{name} should be true or false")
    return value


def parse_datetime(value: Any, name: str) -> datetime | None:
    """Autotask's ISO 8601 strings; a value without an offset is taken as UTC (the API's zone)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise WireTypeError(f"{name} should be a date-time")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python before 3.11 and some servers disagree on fraction lengths; trim to microseconds.
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[:digits][:6].ljust(6, "0") + rest[digits:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise WireTypeError(f"{name} should be an ISO date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def format_datetime(value: datetime | None) -> str | None:
    """The form Autotask sends: UTC with a `Z`, a fraction only when there is one."""
    if value is None:
        return None
    utc = (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
    if utc.microsecond:
        fraction = f"{utc.microsecond:06d}".rstrip("0").ljust(3, "0")
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
