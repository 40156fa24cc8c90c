"""Whether a row read from a damaged file is whole: each value of the type its model declares.

Random bytes written into a page can leave a cell SQLite still reads, with nonsense in it; such a
row is counted unreadable rather than copied. Payloads must be plain JSON that parses, or a sealed
blob whose header is sound and which, when the profile's data key is at hand (`opener`), passes
its integrity check for its column and row; the ciphertext itself is copied as it was and opens
with the same key, since every row keeps the columns of its key (`Meta.row_key`).
"""

from __future__ import annotations

import zlib
from typing import Any

import peewee

from agent.canonical import canonical_bytes, loads
from agent.security.errors import SealedPayloadError
from agent.security.sealing import (
    HEADER_BYTES,
    KNOWN_FLAGS,
    NONCE_BYTES,
    SealingCodec,
    blob_key_id,
    is_sealed,
)
from agent.store.codec import PayloadField, row_key
from agent.store.models import ALL_MODELS, ConflictStatus, OpKind, OpState, Priority

TAG_BYTES = 16
MODELS = {m._meta.table_name: m for m in ALL_MODELS}
# Payload columns that older schemas (before step 8) kept as clear text.
WAS_TEXT = frozenset({("outbox_op", "last_error"), ("outbox_op", "reason")})
# Columns whose text is one of a closed set of words.
CHOICES: dict[tuple[str, str], frozenset[Any]] = {
    ("outbox_op", "kind"): frozenset(k.value for k in OpKind),
    ("outbox_op", "state"): frozenset(s.value for s in OpState),
    ("outbox_op", "priority"): frozenset(int(p) for p in Priority),
    ("conflict", "status"): frozenset(s.value for s in ConflictStatus),
    ("conflict", "kind"): frozenset({"field", "deleted", "changed"}),
}


def opens(opener: SealingCodec | None, blob: bytes, column: str, row: bytes = b"") -> bool | None:
    """Whether a sealed blob passes its integrity check (None: no key here to tell); a value
    written before its column bound values to their rows (rebound at the next open) counts."""
    if opener is None or blob_key_id(blob) not in opener.key_ids:
        return None
    try:
        opener.open(blob, column, row, any_binding=True)
    except (SealedPayloadError, ValueError, zlib.error):
        return False
    return True


def payload_whole(
    blob: Any, column: str = "", opener: SealingCodec | None = None, row: bytes = b""
) -> bool:
    if not isinstance(blob, bytes):
        return False
    if is_sealed(blob):
        sound = len(blob) >= HEADER_BYTES + NONCE_BYTES + TAG_BYTES and not blob[1] & ~KNOWN_FLAGS
        return sound and opens(opener, blob, column, row) is not False
    try:
        loads(blob)
    except ValueError:
        return False
    return True


def _value_fits(f: peewee.Field, value: Any, opener: SealingCodec | None, row: bytes) -> bool:
    if value is None:
        return bool(f.null) or isinstance(f, peewee.AutoField)
    if isinstance(f, PayloadField):
        return payload_whole(value, f.context, opener, row)
    if isinstance(f, peewee.BooleanField):
        return value in (0, 1)
    if isinstance(f, peewee.IntegerField | peewee.AutoField | peewee.ForeignKeyField):
        return isinstance(value, int)
    if isinstance(f, peewee.FloatField):
        return isinstance(value, int | float)
    if isinstance(f, peewee.CharField):
        return isinstance(value, str) and len(value) <= int(f.max_length or 255)
    if isinstance(f, peewee.TextField):
        return isinstance(value, str)
    return True


def key_of(table: str, row: dict[str, Any]) -> bytes:
    """The key `row`'s payloads are bound to (b"" when a key column was not read)."""
    key = getattr(MODELS[table]._meta, "row_key", ())
    if not key or any(c not in row for c in key):
        return b""
    return row_key(*(row[c] for c in key))


def upgrade(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """`row` as the current schema stores it: text that older schemas kept in what is now a
    payload column becomes that payload (plain JSON, sealed at the next open)."""
    for t, column in WAS_TEXT:
        if t == table and isinstance(row.get(column), str):
            row[column] = canonical_bytes(row[column])
    return row


def valid_row(table: str, row: dict[str, Any], opener: SealingCodec | None = None) -> bool:
    """Whether every column of `row` that its model knows holds a value of the right type (and
    each sealed value passes its integrity check, when `opener` holds its key)."""
    model = MODELS[table]
    key = key_of(table, row)
    for f in model._meta.sorted_fields:
        if f.column_name not in row:
            continue
        value = row[f.column_name]
        if not _value_fits(f, value, opener, key):
            return False
        allowed = CHOICES.get((table, f.column_name))
        if allowed is not None and value not in allowed:
            return False
    return True
