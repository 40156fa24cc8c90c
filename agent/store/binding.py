"""Binding each payload value to its row: the model base class's inserts and saves.

A model with payload columns declares, as `Meta.row_key`, the columns that name a row for its
whole life and are known when it is first written (see `agent.store.codec`). Every way a row is
written through its model passes its payloads on with that key:

- `insert` / `create` / `replace` / `insert_many` (dict rows): the key is read from the values
  inserted; an `id` in the key that is not given is allocated here (the next after the highest,
  as SQLite would pick it), since the value must be sealed before the row exists;
- `save` of a row that exists: the key is the instance's own;
- an upsert's conflict clause takes the payload from the row proposed (`preserve=` or
  `EXCLUDED`), which has the same key as the row it replaces.

A bulk `update()` does not know its rows: it may change neither payloads nor key columns (it
raises). To move a row to another key (a created entity's pending values to its server id), read
its payloads, change the key and `save()` it: the values are sealed again for the new key.
"""

from __future__ import annotations

from typing import Any

import peewee

from agent.store.codec import ForRow, PayloadField, PayloadWithoutRowError, Unopened, row_key
from agent.store.codec import saving_row as _saving_row


def payload_fields(model: Any) -> list[PayloadField]:
    return [f for f in model._meta.sorted_fields if isinstance(f, PayloadField)]


def key_fields(model: Any) -> list[peewee.Field]:
    return [model._meta.fields[name] for name in model._meta.row_key]


def next_id(model: Any) -> int:
    table = model._meta.table_name
    cursor = model._meta.database.execute_sql(f'SELECT COALESCE(MAX("id"), 0) + 1 FROM "{table}"')
    return int(cursor.fetchone()[0])


def _bind(model: Any, data: dict[Any, Any], allocated: int | None = None) -> dict[Any, Any]:
    """`data` (field -> value, as peewee normalises it) with its payloads wrapped for its row."""
    payloads = [f for f in data if isinstance(f, PayloadField)]
    if not payloads:
        return data
    parts = []
    for f in key_fields(model):
        if f not in data:
            if not isinstance(f, peewee.AutoField):
                raise PayloadWithoutRowError(
                    f"{model._meta.table_name} inserted without {f.name}, part of its row's key"
                )
            data[f] = next_id(model) if allocated is None else allocated
        parts.append(f.db_value(data[f]))
    key = row_key(*parts)
    for f in payloads:
        value = data[f]
        if type(value) is not ForRow:
            data[f] = ForRow(value, key)
    return data


class BoundModel(peewee.Model):  # type: ignore[misc]
    """The base of every model: payloads written through it are bound to their row."""

    @classmethod
    def insert(cls, __data: Any = None, **insert: Any) -> Any:
        data = cls._normalize_data(__data, insert)
        if isinstance(data, dict):
            data = _bind(cls, data)
        return super().insert(data)

    @classmethod
    def insert_many(cls, rows: Any, fields: Any = None) -> Any:
        if not payload_fields(cls):
            return super().insert_many(rows, fields)
        rows = list(rows)
        if fields is not None:
            rows = [dict(zip(fields, r, strict=True)) for r in rows]
        bound = []
        first: int | None = None
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise PayloadWithoutRowError("rows with payloads are inserted as dicts")
            data = cls._normalize_data(row, {})
            if "id" in cls._meta.row_key and cls._meta.fields["id"] not in data:
                first = next_id(cls) if first is None else first
                bound.append(_bind(cls, data, first + i))
            else:
                bound.append(_bind(cls, data))
        return super().insert_many(bound)

    @classmethod
    def update(cls, __data: Any = None, **update: Any) -> Any:
        data = cls._normalize_data(__data, update)
        if _saving_row.get() is None and payload_fields(cls):
            keys = set(cls._meta.row_key)
            touched = [f.name for f in data if isinstance(f, PayloadField) or f.name in keys]
            if touched:
                raise PayloadWithoutRowError(
                    f"a bulk update of {cls._meta.table_name} cannot change {touched}: its "
                    "payloads are bound to each row's key; save each row instead"
                )
        return super().update(data)

    def save(self, force_insert: bool = False, only: Any = None) -> Any:
        if force_insert or self._pk is None or not payload_fields(type(self)):
            return super().save(force_insert=force_insert, only=only)
        meta = self._meta
        if self._dirty & set(meta.row_key) and any(
            type(self.__data__.get(f.name)) is Unopened for f in payload_fields(type(self))
        ):
            # An unopened value is still bound to the old key, which is no longer known here.
            raise PayloadWithoutRowError(
                f"read the payloads of a {meta.table_name} row before changing its key"
            )
        parts = [f.db_value(self.__data__.get(f.name)) for f in key_fields(type(self))]
        token = _saving_row.set(row_key(*parts))
        try:
            return super().save(force_insert=force_insert, only=only)
        finally:
            _saving_row.reset(token)
