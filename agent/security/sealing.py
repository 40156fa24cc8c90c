"""The payload codec that seals stored values: JSON, zlib when it helps, then AES-256-GCM.

Layout of a sealed blob (every stored payload that does not start with `SEALED_V1` is plain JSON,
as written before sealing was switched on, and still reads):

    0      1      2..5     6..17   18..
    0x01 | flags | key id | nonce | ciphertext + 16-byte tag

`flags` says whether the JSON was compressed and whether the blob is bound to its column and to
its row. The associated data covers the header and, when bound, "table.column" and the row's key
(the columns that name the row for its life, each model's `Meta.row_key`), so a blob copied into
another column or another row (ticket A's data onto ticket B), or a header edited, fails to open.
The key id (4 bytes of a hash of the key, harmless to show) picks the key during a rotation and
tells a wrong key apart from a damaged blob.

AES-GCM comes from `cryptography`; only the framing is ours, because SQLite encryption
extensions (SQLCipher) would need a rebuilt SQLite in every installer.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zlib
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.canonical import canonical_bytes, loads
from agent.security.errors import SealedPayloadError

SEALED_V1 = 0x01
# Bytes no JSON text starts with, kept for future formats so they are never read as JSON.
RESERVED_FORMATS = frozenset(range(0x01, 0x09))
FLAG_ZLIB = 0x01
FLAG_BOUND = 0x02
FLAG_ROW = 0x04
KNOWN_FLAGS = FLAG_ZLIB | FLAG_BOUND | FLAG_ROW
KEY_BYTES = 32
NONCE_BYTES = 12
HEADER_BYTES = 6
COMPRESS_FROM = 96  # shorter JSON rarely shrinks enough to pay for the inflate on every read
_AAD_PREFIX = b"field-sync/payload/1\x00"


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def key_id(key: bytes) -> bytes:
    """Four bytes naming a key inside blobs (reveals nothing usable about the key)."""
    return hashlib.sha256(b"field-sync data key id\x00" + key).digest()[:4]


def is_sealed(blob: bytes) -> bool:
    return len(blob) > 0 and blob[0] == SEALED_V1


def blob_key_id(blob: bytes) -> bytes | None:
    return bytes(blob[2:6]) if is_sealed(blob) and len(blob) >= HEADER_BYTES else None


# The same bytes as `agent.store.codec.JsonCodec`, so switching codecs changes no value.
_plain_json = canonical_bytes


class SealingCodec:
    """Seals with one key (or writes plain JSON when `seal_with` is None); opens with any it
    holds. Thread-safe: the writer seals while readers open."""

    def __init__(self, keys: Iterable[bytes] = (), seal_with: bytes | None = None) -> None:
        self._lock = threading.Lock()
        self._ciphers: dict[bytes, AESGCM] = {}
        self._sealing: tuple[bytes, AESGCM, bytes] | None = None
        for key in keys:
            self.add_key(key)
        self.seal_with(seal_with)

    def add_key(self, key: bytes) -> bytes:
        if len(key) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        kid = key_id(key)
        with self._lock:
            self._ciphers[kid] = AESGCM(key)
        return kid

    def drop_key(self, kid: bytes) -> None:
        with self._lock:
            if self._sealing is not None and self._sealing[0] == kid:
                raise ValueError("the sealing key cannot be dropped")
            self._ciphers.pop(kid, None)

    def seal_with(self, key: bytes | None) -> None:
        """Seal new values with `key` (added if new), or write plain JSON with None."""
        if key is None:
            with self._lock:
                self._sealing = None
            return
        kid = self.add_key(key)
        with self._lock:
            self._sealing = (kid, self._ciphers[kid], key)

    @property
    def sealing_key_id(self) -> bytes | None:
        sealing = self._sealing
        return None if sealing is None else sealing[0]

    @property
    def sealing_key(self) -> bytes | None:
        sealing = self._sealing
        return None if sealing is None else sealing[2]

    @property
    def key_ids(self) -> frozenset[bytes]:
        with self._lock:
            return frozenset(self._ciphers)

    def encode(self, value: Any, column: str = "", row: bytes = b"") -> bytes:
        """Seal `value` for `column` ("table.column") of the row whose key is `row` (either
        may be empty: bound to less)."""
        plain = _plain_json(value)
        sealing = self._sealing
        if sealing is None:
            return plain
        kid, cipher, _ = sealing
        flags = (FLAG_BOUND if column else 0) | (FLAG_ROW if row else 0)
        if len(plain) >= COMPRESS_FROM:
            packed = zlib.compress(plain, 6)
            if len(packed) < len(plain):
                plain, flags = packed, flags | FLAG_ZLIB
        header = bytes((SEALED_V1, flags)) + kid
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + cipher.encrypt(nonce, plain, _aad(header, column, row))

    def decode(self, blob: bytes, column: str = "", row: bytes = b"") -> Any:
        return self.open(blob, column, row)

    def open(
        self, blob: bytes, column: str = "", row: bytes = b"", *, any_binding: bool = False
    ) -> Any:
        """`decode`; with `any_binding`, a blob written without a column or a row (or for this
        one) is accepted, so a pass can re-bind values after a column or row starts binding."""
        data = bytes(blob)
        if not data or data[0] not in RESERVED_FORMATS:
            return loads(data)
        if data[0] != SEALED_V1:
            raise SealedPayloadError(
                f"A stored value is in format {data[0]}, which this version of Field Sync does "
                "not know. Update the program; the value was left as it is."
            )
        if len(data) < HEADER_BYTES + NONCE_BYTES + 16:
            raise SealedPayloadError("A stored value is cut short; it cannot be opened.")
        header, flags, kid = data[:HEADER_BYTES], data[1], data[2:6]
        with self._lock:
            cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SealedPayloadError(
                "A stored value was encrypted with a data key this profile does not hold."
            )
        if not any_binding and (
            (column and not flags & FLAG_BOUND) or (row and not flags & FLAG_ROW)
        ):
            # A column (or row) that binds its values never holds an unbound one: moved here.
            raise SealedPayloadError(
                f"A stored value read as {place(column, row)} was not written there."
            )
        bound = column if flags & FLAG_BOUND else ""
        bound_row = row if flags & FLAG_ROW else b""
        nonce = data[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        try:
            plain = cipher.decrypt(
                nonce, data[HEADER_BYTES + NONCE_BYTES :], _aad(header, bound, bound_row)
            )
        except InvalidTag:
            where = f" (read as {place(column, row)})" if column or row else ""
            raise SealedPayloadError(
                "A stored value failed its integrity check: it was changed on disk or copied "
                f"from another place{where}."
            ) from None
        if flags & FLAG_ZLIB:
            plain = zlib.decompress(plain)
        return loads(plain)


def _aad(header: bytes, column: str, row: bytes = b"") -> bytes:
    if header[1] & FLAG_ROW:
        return _AAD_PREFIX + header + column.encode() + b"\x00" + row
    return _AAD_PREFIX + header + column.encode()


def place(column: str, row: bytes = b"") -> str:
    """Where a value was read, in words: "cached_entity.data of Tickets 102"."""
    if not row:
        return column or "a value"
    try:
        parts = loads(row)
        named = " ".join(str(p) for p in parts) if isinstance(parts, list) else str(parts)
    except ValueError:
        named = row.decode("utf-8", "backslashreplace")
    table = column.split(".", 1)[0]
    if table == "audit_event":
        named = f"the event with hash {named[:16]}"
    elif table in _NUMBERED:
        named = f"{_NUMBERED[table]} #{named}"
    return f"{column} of {named}" if column else named


# Tables whose rows are named by their number in what the technician sees.
_NUMBERED = {"outbox_op": "operation", "conflict": "conflict"}
