"""Fingerprints of operations, over one canonical JSON form, for deduplication.

The fingerprint identifies an operation as it was made: ids rewritten later (when a create is
acknowledged) do not change it.

It is kept in clear in the outbox beside the entity, kind and target, so a plain hash of the
fields would give away a pending edit's values to anyone who hashes the few candidates (a status
0..49). A profile with a keyring therefore keys it (`use_key`, installed at open by
`agent.security.fingerprints`): "k", the key's tag (8 hex digits), then HMAC-SHA256 of the plain
SHA-256 digest under the key (55 hex digits), 64 characters like the plain form. A plain
fingerprint can be turned into the keyed one without the operation's fields (`keyed`), so
fingerprints an earlier version wrote are converted exactly. The demo profile, and one kept
without a keyring, use the plain SHA-256 hex digest.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from agent.canonical import canonical_bytes, canonical_json

__all__ = [
    "canonical_bytes",
    "canonical_json",
    "current_key",
    "fingerprint",
    "is_plain",
    "key_tag",
    "keyed",
    "use_key",
]

KEYED_MARK = "k"
_TAG_DIGITS = 8
_MAC_DIGITS = 64 - len(KEYED_MARK) - _TAG_DIGITS
_HEX = frozenset("0123456789abcdef")

# The key of the profile open in this process (one at a time, as the store's codec).
_key: list[bytes | None] = [None]


def use_key(key: bytes | None) -> None:
    """Key every fingerprint made from now on with `key` (None: plain SHA-256)."""
    _key[0] = key


def current_key() -> bytes | None:
    return _key[0]


def key_tag(key: bytes) -> str:
    """The prefix of every fingerprint keyed with `key` (reveals nothing usable about it)."""
    tag = hashlib.sha256(b"field-sync fingerprint key tag\x00" + key).hexdigest()
    return KEYED_MARK + tag[:_TAG_DIGITS]


def is_plain(fp: str) -> bool:
    """Whether `fp` is an unkeyed SHA-256 hex digest."""
    return len(fp) == 64 and set(fp) <= _HEX


def keyed(plain: str, key: bytes) -> str:
    """The keyed form of the plain fingerprint `plain`."""
    mac = hmac.new(key, bytes.fromhex(plain), hashlib.sha256).hexdigest()
    return key_tag(key) + mac[:_MAC_DIGITS]


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
    plain = hashlib.sha256(body).hexdigest()
    key = _key[0]
    return plain if key is None else keyed(plain, key)
