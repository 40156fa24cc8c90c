"""How structured payloads (server JSON, pending values, conflict values) are turned into bytes.

The store keeps every payload that may hold a customer's text in a BLOB column written through one
`PayloadCodec`, so sealing it at rest (encryption, compression) is a change of codec, not of schema.

A sealing codec binds each value to its column and to its row: the row's key is made of the
columns that name the row for its whole life and are known when it is first written (each model
declares them as `Meta.row_key`: a cached entity's type and id, an operation's id, an audit
event's hash, ...). Peewee hands a field's `db_value` the value alone, so the model base class
(`agent.store.binding`) wraps each value written with its row's key (`ForRow`), and a value read
stays as stored (`Unopened`) until it is first read through its row instance, which knows the key.
"""

from __future__ import annotations

import contextvars
from typing import Any, Protocol

import peewee

from agent.canonical import canonical_bytes, loads


class PayloadCodec(Protocol):
    """Turns a JSON-able value into stored bytes and back.

    `column` ("table.column", or "" when the caller does not say) and `row` (`row_key` of the
    row's key columns, or b"") let a sealing codec bind a blob to the place it was written for,
    so a blob copied into another column or another row fails to open.
    """

    def encode(self, value: Any, column: str = "", row: bytes = b"") -> bytes: ...

    def decode(self, blob: bytes, column: str = "", row: bytes = b"") -> Any: ...


class JsonCodec:
    """Plain, compact UTF-8 JSON: the codec when nothing seals payloads."""

    def encode(self, value: Any, column: str = "", row: bytes = b"") -> bytes:
        return canonical_bytes(value)

    def decode(self, blob: bytes, column: str = "", row: bytes = b"") -> Any:
        return loads(blob)


# Tables whose payloads are sealed without naming their column (none: the outbox's raw-SQL paths
# in agent.queue.sqlite_rows name theirs); kept so a table can opt out while its writers catch up.
UNBOUND_TABLES: frozenset[str] = frozenset()


def column_context(table: str, column: str) -> str:
    """The binding name a `PayloadField` passes to the codec for `table.column`."""
    return "" if table in UNBOUND_TABLES else f"{table}.{column}"


def row_key(*parts: Any) -> bytes:
    """The key a value is bound to, from its row's key columns as stored (ints, text)."""
    return canonical_bytes(list(parts))


_active: list[PayloadCodec] = [JsonCodec()]


def set_codec(codec: PayloadCodec) -> None:
    """Install the codec every `PayloadField` uses from now on (one per process)."""
    _active[0] = codec


def get_codec() -> PayloadCodec:
    return _active[0]


class PayloadWithoutRowError(TypeError):
    """A payload was written or read without the key of its row (a programming error)."""


class ForRow:
    """A value on its way into the row whose key is `row` (see `agent.store.binding`)."""

    __slots__ = ("row", "value")

    def __init__(self, value: Any, row: bytes) -> None:
        self.value = value
        self.row = row


class Unopened:
    """A payload as stored, opened when first read through its row instance."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob = blob


# The key of the row a model instance is saving (set by `binding.BoundModel.save`).
saving_row: contextvars.ContextVar[bytes | None] = contextvars.ContextVar(
    "saving_row", default=None
)


class PayloadAccessor(peewee.FieldAccessor):  # type: ignore[misc]
    """Opens a stored payload on first read, with the key of the instance's row."""

    def __get__(self, instance: Any, instance_type: Any = None) -> Any:
        if instance is None:
            return self.field
        value = instance.__data__.get(self.name)
        if type(value) is Unopened:
            value = self.field.open(value.blob, instance)
            instance.__data__[self.name] = value
        return value


class PayloadField(peewee.BlobField):  # type: ignore[misc]
    """A BLOB column holding one codec-encoded JSON value (dict, list, scalar or None), bound to
    its column and its row."""

    accessor_class = PayloadAccessor

    @property
    def context(self) -> str:
        return column_context(self.model._meta.table_name, self.column_name)

    def key_of(self, instance: Any) -> bytes:
        """The key of `instance`'s row (its `Meta.row_key` columns, as stored)."""
        data = instance.__data__
        fields = self.model._meta.fields
        try:
            return row_key(*(fields[c].db_value(data[c]) for c in self.model._meta.row_key))
        except KeyError:
            raise PayloadWithoutRowError(
                f"{self.context} was read without its row's key "
                f"({', '.join(self.model._meta.row_key)}): select those columns too"
            ) from None

    def open(self, blob: bytes, instance: Any) -> Any:
        return get_codec().decode(blob, self.context, self.key_of(instance))

    def db_value(self, value: Any) -> bytes | None:
        row: bytes | None
        if type(value) is ForRow:
            row, value = value.row, value.value
            if type(value) is Unopened:
                raise PayloadWithoutRowError(f"{self.context}: open a value to move it")
        else:
            row = saving_row.get()
            if row is None:
                raise PayloadWithoutRowError(
                    f"{self.context} written without its row: insert or save the row through "
                    "its model (a bulk UPDATE cannot bind values to their rows)"
                )
            if type(value) is Unopened:  # saved back into its own row: in the current form
                value = get_codec().decode(value.blob, self.context, row)
        if value is None and self.null:
            return None
        return get_codec().encode(value, self.context, row)

    def python_value(self, value: bytes | None) -> Any:
        return None if value is None else Unopened(value)
