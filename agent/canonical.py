"""One canonical JSON form for everything that is hashed or stored as a payload.

orjson's sorted-key, compact UTF-8 JSON: for the values the agent stores (text, integers,
booleans, null, ordinary decimals) it is byte for byte
`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, at a fraction of
the cost (encoding is most of an enqueue's own work). Values orjson refuses (integers beyond 64
bits) fall back to `json`, marked by one leading space (still valid JSON) so that reading them
uses `json` too (orjson would read such an integer as a float); so does reading text orjson will
not parse (NaN written by `json`).
Infinity and NaN, which JSON cannot express, are written as null (entry validation refuses them
where a technician types numbers).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_slow = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode


def canonical_bytes(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: equal values always give equal bytes."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return b" " + _slow(value).encode()


def canonical_json(value: Any) -> str:
    """`canonical_bytes` as text."""
    return canonical_bytes(value).decode()


def loads(blob: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON written by `canonical_bytes` (or by `json.dumps`)."""
    if blob[:1] not in (b" ", " "):
        try:
            return orjson.loads(blob)
        except orjson.JSONDecodeError:
            pass
    return json.loads(blob if isinstance(blob, str) else bytes(blob).decode())
