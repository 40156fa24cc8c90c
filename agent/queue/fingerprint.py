"""SHA-256 fingerprints of operations, over one canonical JSON form, for deduplication.

The fingerprint identifies an operation as it was made: ids rewritten later (when a create is
acknowledged) do not change it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring,
    encode_basestring_ascii,
)
from typing import Any


def compact_encoder(*, ensure_ascii: bool) -> Callable[[Any], str]:
    """`json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ...)`, prebuilt.

    `JSONEncoder.encode` builds its C encoder on every call, a third of the cost of encoding a
    typical operation; this builds it once (without the circular-reference check: payloads are
    JSON values). Falls back to the pure-Python encoder where the C one is missing.
    """
    slow = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii, default=str
    ).encode
    if c_make_encoder is None:
        return slow
    strings = encode_basestring_ascii if ensure_ascii else encode_basestring
    fast = c_make_encoder(None, str, strings, None, ":", ",", True, False, True)

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return slow(value)
        return "".join(fast(value, 0))

    return encode


_dumps = compact_encoder(ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text: equal values always give equal text."""
    return _dumps(value)


def fingerprint(
    entity_type: str,
    kind: str,
    target_id: int | None,
    temp_id: str | None,
    parent_id: int | None,
    parent_temp_id: str | None,
    fields: Mapping[str, Any],
) -> str:
    body = _dumps([entity_type, kind, target_id, temp_id, parent_id, parent_temp_id, fields])
    return hashlib.sha256(body.encode()).hexdigest()
