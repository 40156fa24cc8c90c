"""Wire values: Autotask's UTC timestamp format and the coercion of JSON values to field types."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

# Autotask sends UTC timestamps with milliseconds and a 'Z'. That fixed-width form also makes
# string comparison chronological, so queries compare stored timestamps without parsing them.


class ValueProblem(ValueError):
    """A JSON value that does not fit the field's data type."""


# The .NET integer types behind the Swagger's formats: a value outside them fails to bind.
INTEGER_RANGES = {
    "short": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}


# .NET's Int64/Int32/Double parsers (NumberStyles.Integer / Float) take ASCII digits, an
# optional sign and surrounding ASCII white space only; Python's int() and float() also take
# other scripts' digits ("٣", "７") and underscores ("7_677"), which the API refuses.
_WHITE = r"[ \t\n\v\f\r]*"
_INTEGER_TEXT = re.compile(_WHITE + "[+-]?[0-9]+" + _WHITE, re.ASCII)
_NUMBER_TEXT = re.compile(
    _WHITE + r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?" + _WHITE, re.ASCII
)


def parse_integer_text(text: str) -> int | None:
    """The whole number `text` holds as .NET reads it (ASCII digits, a sign, white space
    around), or None."""
    if not _INTEGER_TEXT.fullmatch(text):
        return None
    body = text.strip(" \t\n\v\f\r")
    sign = -1 if body[0] == "-" else 1
    digits = body.lstrip("+-").lstrip("0")
    if len(digits) > 40:  # past every .NET integer type; int() would refuse past 4300 digits
        return sign * 10**40
    return sign * int(digits or "0")


def format_time(moment: datetime) -> str:
    """Render a moment as Autotask does: UTC, milliseconds, trailing 'Z'."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; a missing offset means UTC, as the API assumes."""
    if not isinstance(text, str) or not 4 <= len(text) <= 40:
        raise ValueProblem("not a date/time string")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueProblem("not a valid date/time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def canonical_time(text: str) -> str:
    """An incoming timestamp in the stored wire form."""
    return format_time(parse_time(text))


def coerce(data_type: str, value: Any) -> Any:
    """Convert a JSON value to the stored form of `data_type`, or raise `ValueProblem`.

    Numeric strings are accepted for numbers (the API is lenient there); an integer must fit
    its .NET type (int32 for `integer`, int64 for `long`); a boolean takes a JSON boolean,
    "true"/"false", or an integer (0 false, any other true), as Json.NET converts them; never a
    fraction. Null passes here: whether a field takes it is the
    writer's decision (`null_refused`).
    """
    if value is None:
        return None
    if data_type in INTEGER_RANGES:
        whole = _integer(value)
        low, high = INTEGER_RANGES[data_type]
        if not low <= whole <= high:
            raise ValueProblem(f"{whole} is outside the range {low} to {high}")
        return whole
    if data_type in ("double", "decimal"):
        if isinstance(value, bool):
            raise ValueProblem("expected a number")
        text_number = isinstance(value, str) and _NUMBER_TEXT.fullmatch(value)
        if not (isinstance(value, int | float) or text_number):
            raise ValueProblem("expected a number")
        number = float(value)
        if not math.isfinite(number):
            raise ValueProblem("expected a finite number")
        return number
    if data_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            # Json.NET converts an integer token to a bool as Convert.ToBoolean does: 0 is
            # false, any other integer true (clients that write flags as 0/1 rely on it).
            return value != 0
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueProblem("expected true or false")
    if data_type == "datetime":
        if not isinstance(value, str):
            raise ValueProblem("expected a date/time string")
        return canonical_time(value)
    if data_type == "object":
        if not isinstance(value, dict):
            raise ValueProblem("expected an object")
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    raise ValueProblem("expected a string")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueProblem("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        whole = parse_integer_text(value)
        if whole is not None:
            return whole
    raise ValueProblem("expected an integer")


def null_refused(data_type: str) -> bool:
    """True for a type whose .NET property cannot hold null: a JSON null there is a model-state
    error, which the API answers with 500. Booleans are the API's non-nullable properties; every
    other type binds null."""
    return data_type == "boolean"
