"""SHA-256 fingerprints of operations, over one canonical JSON form, for deduplication.

The fingerprint identifies an operation as it was made: ids rewritten later (when a create is
acknowledged) do not change it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode


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
