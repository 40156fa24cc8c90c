"""How audit events are chained: each event's hash covers the event and the previous event's hash.

A profile with a keyring keys its chain: the hash is an HMAC-SHA256 under the profile's audit key
(kept in the keyring, never in the database), so nobody who can only edit the database file can
write an event that verifies, nor re-hash events after changing them. The chain's head (its last
hash and how many events it holds) is anchored beside the key (`Anchor`; kept by
`agent.security.audit_anchor`), so events removed from either end, or the whole file put back to
an older copy, no longer match it.

Events hashed without the key (plain SHA-256) are those written before the trail was keyed, or
while the profile ran without its keyring; a keyed `KEYED` event that follows them admits exactly
how many there were, so nothing unkeyed can be slipped in later. Profiles without a keyring (the
public demo data; a profile whose user agreed to keep it in clear) keep an unkeyed chain, which
shows changes made by mistake, not by someone who means it.

The key in use is installed per process (like the payload codec, one profile at a time).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.store.audit_retention import RetentionAnchor
from agent.store.codec import column_context

GENESIS = "0" * 64
# An event recording that the events after it were salvaged from a damaged database and do not
# follow on from it: its detail's `resumes_after` names the `prev_hash` of the next event. It is
# chained like any other, so the gap it admits cannot be moved or widened without breaking it.
GAP = "audit_gap"
# The chain becomes keyed from this event on; its detail's `unkeyed` says how many unkeyed events
# come directly before it (and, where nothing before them was keyed, `starts_after` names the
# `prev_hash` the first of them had, so a trail cut at its start still shows it).
KEYED = "audit_keyed"
# Retention removed the oldest events: `removed` of them, `removed_total` since the chain began,
# the last of them hashed `resumes_after` (the `prev_hash` of the first event kept).
PRUNED = "audit_pruned"
# The database was rebuilt from a damaged one (salvage), so the anchor was set again: the detail
# names the anchor the salvage could not follow (`anchor_count`, `anchor_head`) and whether its
# head came through (`head_found`).
REANCHORED = "audit_reanchored"
# Events about the chain itself, which readers may list apart from the work they record.
CHAIN_ACTIONS = frozenset({GAP, KEYED, PRUNED, REANCHORED})

VALUES_COLUMN = column_context("audit_event", "values")

# Built once: `json.dumps` with options builds a new encoder on every call.
_chain_json = json.JSONEncoder(separators=(",", ":")).encode
detail_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def _body(
    prev_hash: str,
    at: float,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    op_id: int | None,
    detail: str,
    values: str | None,
) -> bytes:
    fields: list[Any] = [prev_hash, repr(float(at)), action, entity_type, entity_id, op_id, detail]
    if values is not None:  # events without values hash as they always did
        fields.append(values)
    return _chain_json(fields).encode()


def digest(
    prev_hash: str,
    at: float,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    op_id: int | None,
    detail: str,
    values: str | None = None,
    *,
    key: bytes | None = None,
) -> str:
    """An event's hash: HMAC-SHA256 under `key`, or plain SHA-256 without one."""
    body = _body(prev_hash, at, action, entity_type, entity_id, op_id, detail, values)
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.digest(key, body, "sha256").hex()


@dataclass(frozen=True)
class Anchor:
    """The chain's head as last recorded outside the database: `count` events since the chain
    began (those retention removed included) and the last one's `hash`; `pruned` of them were
    removed by retention; `salvaged` is the hash of the last salvage event it knew of (so only a
    salvage since can set the anchor again)."""

    count: int
    head: str
    pruned: int = 0
    salvaged: str = ""

    def text(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "count": self.count,
                "head": self.head,
                "pruned": self.pruned,
                "salvaged": self.salvaged,
            }
        )

    @classmethod
    def parse(cls, text: str | None) -> Anchor | None:
        """The anchor an entry holds; None for no entry or one that is not an anchor."""
        if not text:
            return None
        try:
            data = json.loads(text)
            anchor = cls(
                int(data["count"]),
                str(data["head"]),
                int(data.get("pruned", 0)),
                str(data.get("salvaged", "")),
            )
        except (ValueError, TypeError, KeyError):
            return None
        return anchor if anchor.count >= 0 and len(anchor.head) == 64 else None


START = Anchor(0, GENESIS)


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class ChainKeying:
    """The key this process chains with, what it calls after an append (the anchor's keeper
    takes note), and where the anchor and the retention anchored beside it are read (the
    keyring's copies)."""

    key: bytes | None = None
    appended: Callable[[], None] = _nothing
    anchor: Callable[[], Anchor | None] | None = None
    retention: Callable[[], RetentionAnchor | None] | None = None


_installed: list[ChainKeying] = [ChainKeying()]


def install(keying: ChainKeying) -> None:
    """Chain every event appended from now on with `keying` (one profile per process)."""
    _installed[0] = keying


def installed() -> ChainKeying:
    return _installed[0]


def uninstall(keying: ChainKeying) -> None:
    """Go back to an unkeyed chain, if `keying` is still the one in use."""
    if _installed[0] is keying:
        _installed[0] = ChainKeying()
