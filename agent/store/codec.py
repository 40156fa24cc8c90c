"""How structured payloads (server JSON, pending values, conflict values) are turned into bytes.

The store keeps every payload that may hold a customer's text in a BLOB column written through one
`PayloadCodec`, so sealing it at rest (encryption, compression) is a change of codec, not of schema.
"""

from __future__ import annotations

from typing import Any, Protocol

import peewee

from agent.canonical import canonical_bytes, loads


class PayloadCodec(Protocol):
    """Turns a JSON-able value into stored bytes and back.

    `column` ("table.column", or "" when the caller does not say) lets a sealing codec bind a
    blob to the column it was written for, so a blob copied into another column fails to open.
    """

    def encode(self, value: Any, column: str = "") -> bytes: ...

    def decode(self, blob: bytes, column: str = "") -> Any: ...


class JsonCodec:
    """Plain, compact UTF-8 JSON: the codec when nothing seals payloads."""

    def encode(self, value: Any, column: str = "") -> bytes:
        return canonical_bytes(value)

    def decode(self, blob: bytes, column: str = "") -> Any:
        return loads(blob)


# Tables whose payloads are sealed without naming their column (none: the outbox's raw-SQL paths
# in agent.queue.sqlite_rows name theirs); kept so a table can opt out while its writers catch up.
UNBOUND_TABLES: frozenset[str] = frozenset()


def column_context(table: str, column: str) -> str:
    """The binding name a `PayloadField` passes to the codec for `table.column`."""
    return "" if table in UNBOUND_TABLES else f"{table}.{column}"


_active: list[PayloadCodec] = [JsonCodec()]


def set_codec(codec: PayloadCodec) -> None:
    """Install the codec every `PayloadField` uses from now on (one per process)."""
    _active[0] = codec


def get_codec() -> PayloadCodec:
    return _active[0]


class PayloadField(peewee.BlobField):  # type: ignore[misc]
    """A BLOB column holding one codec-encoded JSON value (dict, list, scalar or None)."""

    @property
    def context(self) -> str:
        return column_context(self.model._meta.table_name, self.column_name)

    def db_value(self, value: Any) -> bytes | None:
        if value is None and self.null:
            return None
        return get_codec().encode(value, self.context)

    def python_value(self, value: bytes | None) -> Any:
        if value is None:
            return None
        return get_codec().decode(value, self.context)
