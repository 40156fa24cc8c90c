"""How structured payloads (server JSON, pending values, conflict values) are turned into bytes.

The store keeps every payload that may hold a customer's text in a BLOB column written through one
`PayloadCodec`, so sealing it at rest (encryption, compression) is a change of codec, not of schema.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import peewee


class PayloadCodec(Protocol):
    """Turns a JSON-able value into stored bytes and back."""

    def encode(self, value: Any) -> bytes: ...

    def decode(self, blob: bytes) -> Any: ...


class JsonCodec:
    """Plain, compact UTF-8 JSON: the codec when nothing seals payloads."""

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str).encode()

    def decode(self, blob: bytes) -> Any:
        return json.loads(bytes(blob).decode())


_active: list[PayloadCodec] = [JsonCodec()]


def set_codec(codec: PayloadCodec) -> None:
    """Install the codec every `PayloadField` uses from now on (one per process)."""
    _active[0] = codec


def get_codec() -> PayloadCodec:
    return _active[0]


class PayloadField(peewee.BlobField):  # type: ignore[misc]
    """A BLOB column holding one codec-encoded JSON value (dict, list, scalar or None)."""

    def db_value(self, value: Any) -> bytes | None:
        if value is None and self.null:
            return None
        return get_codec().encode(value)

    def python_value(self, value: bytes | None) -> Any:
        if value is None:
            return None
        return get_codec().decode(value)
