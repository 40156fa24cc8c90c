"""Bringing a damaged database's audit trail into the new one, so `audit verify` still passes.

Salvaged events are copied as stored (their hashes, and their sealed values, untouched), in their
original order, at the start of the new trail. Where the chain does not follow on, because events
were unreadable or failed their own hash (at the start too), a chained `audit.GAP` event records
how many are missing and where the chain resumes. The salvage itself is then appended as a normal
event after them. With the profile's audit key, each event's own hash is checked with it and the
new events are keyed; the anchor is set again when the profile opens (`audit.REANCHORED`).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from agent.security.errors import SealedPayloadError
from agent.security.sealing import SealingCodec, is_sealed
from agent.store import audit
from agent.store.audit_chain import ChainKeying, detail_json, digest
from agent.store.codec import JsonCodec, row_key
from agent.store.salvage_read import DamagedFile, TableRead
from agent.store.salvage_rows import opens, valid_row

HEX64 = re.compile(r"[0-9a-f]{64}")
COLUMNS = (
    "id",
    "at",
    "action",
    "entity_type",
    "entity_id",
    "op_id",
    "detail",
    "values",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class ChainCheck:
    """How salvaged events are checked and new ones chained: with the profile's audit key, or
    plain (None); without a key that could not be read (`checkable` False), a keyed event cannot
    be told from a damaged one, so events are copied unchecked, as sealed values are."""

    key: bytes | None
    checkable: bool = True
    keying: ChainKeying = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keying", ChainKeying(self.key))


@dataclass(frozen=True)
class AuditSalvage:
    recovered: int
    unreadable: int
    gaps: int


def _own_hash_holds(row: dict[str, Any], opener: SealingCodec | None, chain: ChainCheck) -> bool:
    """Whether the event still matches its hash (not checkable when its values are sealed and
    the key is not at hand: the copy keeps the ciphertext as it was)."""
    if not (HEX64.fullmatch(row["hash"] or "") and HEX64.fullmatch(row["prev_hash"] or "")):
        return False
    blob = row.get("values")
    values_text = None
    if blob is not None:
        key = row_key(row["hash"])
        if is_sealed(blob) and opens(opener, blob, audit.VALUES_COLUMN, key) is None:
            return True
        try:
            if is_sealed(blob) and opener is not None:
                values = opener.open(blob, audit.VALUES_COLUMN, key, any_binding=True)
            else:
                values = JsonCodec().decode(blob)
            values_text = detail_json(values)
        except (SealedPayloadError, ValueError):
            return False
    fields = (
        row["prev_hash"],
        row["at"],
        row["action"],
        row["entity_type"],
        row["entity_id"],
        row["op_id"],
        row["detail"],
        values_text,
    )
    try:
        if chain.key is not None and digest(*fields, key=chain.key) == row["hash"]:
            return True
        return digest(*fields) == row["hash"] or not chain.checkable
    except (TypeError, ValueError):  # a field of the wrong type: damage
        return False


def _read(
    damaged: DamagedFile, opener: SealingCodec | None, chain: ChainCheck
) -> tuple[list[dict[str, Any]], set[int]]:
    if "audit_event" not in damaged.tables():
        return [], set()
    have = damaged.columns("audit_event")
    cols = [c for c in COLUMNS if c in have]
    read: TableRead = damaged.read_table("audit_event", cols)
    good: list[dict[str, Any]] = []
    bad = set(read.unreadable)
    for raw in read.rows:
        row = dict(zip(["rowid", *cols], raw, strict=True))
        row.setdefault("values", None)
        if valid_row("audit_event", row, opener) and _own_hash_holds(row, opener, chain):
            good.append(row)
        else:
            bad.add(int(raw[0]))
    known = set(damaged.index_rowids("audit_event", "audit_event_action", "action"))
    if good:  # retention removes only the oldest, so ids between kept ones all existed
        known |= set(range(good[0]["rowid"], good[-1]["rowid"] + 1))
    missing = (known | bad) - {r["rowid"] for r in good}
    return good, missing


def _was_keyed(damaged: DamagedFile) -> bool:
    """Whether the damaged trail was keyed (its database kept a copy of an anchor)."""
    if "audit_anchor" not in damaged.tables():
        return False
    read = damaged.read_table("audit_anchor", ["count"])
    return bool(read.rows or read.unreadable)


def _gap(
    conn: sqlite3.Connection,
    at: float,
    missing: int | None,
    resumes_after: str,
    chain: ChainCheck,
) -> None:
    audit.append_many(
        [
            audit.Entry(
                audit.GAP,
                at=at,
                detail={
                    "missing": missing,
                    "resumes_after": resumes_after,
                    "why": "salvaged from a damaged database; the events between could not be read",
                },
            )
        ],
        conn,
        chain.keying,
    )


_INSERT = (
    'INSERT INTO audit_event (at, action, entity_type, entity_id, op_id, detail, "values", '
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def salvage_audit(
    damaged: DamagedFile,
    conn: sqlite3.Connection,
    now: float,
    opener: SealingCodec | None,
    chain: ChainCheck | None = None,
) -> AuditSalvage:
    """Copy every readable event into the (empty) trail of the new database on `conn`."""
    chain = chain if chain is not None else ChainCheck(None)
    if chain.key is None and chain.checkable and _was_keyed(damaged):
        chain = ChainCheck(None, checkable=False)
    good, missing = _read(damaged, opener, chain)
    gaps = 0
    prev: dict[str, Any] | None = None
    if good and good[0]["prev_hash"] != audit.GENESIS:
        lost = sum(1 for i in missing if i < good[0]["rowid"])
        if lost:  # the first events could not be read (else retention removed them, as recorded)
            _gap(conn, now, lost, good[0]["prev_hash"], chain)
            gaps += 1
    seen: set[str] = set()
    for row in good:
        if row["hash"] in seen:  # a unique column: a damaged duplicate cannot be copied twice
            missing.add(row["rowid"])
            continue
        if prev is not None and row["prev_hash"] != prev["hash"]:
            between = sum(1 for i in missing if prev["rowid"] < i < row["rowid"])
            _gap(conn, now, between or None, row["prev_hash"], chain)
            gaps += 1
        conn.execute(
            _INSERT,
            (
                row["at"],
                row["action"],
                row["entity_type"],
                row["entity_id"],
                row["op_id"],
                row["detail"],
                row["values"],
                row["prev_hash"],
                row["hash"],
            ),
        )
        seen.add(row["hash"])
        prev = row
    return AuditSalvage(len(seen), len(missing), gaps)
