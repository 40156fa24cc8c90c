"""SHA-256 fingerprints of operations, over one canonical JSON form, for deduplication.

The fingerprint identifies an operation as it was made: ids rewritten later (when a create is
acknowledged) do not change it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from agent.canonical import canonical_bytes, canonical_json

__all__ = ["canonical_bytes", "canonical_json", "fingerprint"]


def fingerprint(
    entity_type: str,
    kind: str,
    target_id: int | None,
    temp_id: str | None,
    parent_id: int | None,
    parent_temp_id: str | None,
    fields: Mapping[str, Any],
) -> str:
    body = canonical_bytes(
        [entity_type, kind, target_id, temp_id, parent_id, parent_temp_id, fields]
    )
    return hashlib.sha256(body).hexdigest()
