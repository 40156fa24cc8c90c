"""The technician's view of an entity: the last known server state with pending values on top.

Runs inside store reads (or writes); every function here expects an open peewee connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.queue.operation import entity_key
from agent.store.models import CachedEntity, Conflict, ConflictStatus, OverlayValue

PICKLIST_PREFIX = "Picklists:"


@dataclass(frozen=True)
class EntityView:
    """Server values with local pending values applied; which fields are pending or in conflict,
    and the operation behind each pending field."""

    entity_type: str
    key: str
    values: dict[str, Any]
    server: dict[str, Any]
    pending: dict[str, int | None] = field(default_factory=dict)  # field -> op id
    conflicts: dict[str, int] = field(default_factory=dict)  # field -> conflict id
    deleted_locally: bool = False
    deleted_on_server: bool = False

    @property
    def server_id(self) -> int | None:
        return int(self.key) if self.key.lstrip("-").isdigit() else None


def cached(entity_type: str, entity_id: int) -> dict[str, Any] | None:
    row = CachedEntity.get_or_none(
        (CachedEntity.entity_type == entity_type) & (CachedEntity.entity_id == entity_id)
    )
    return None if row is None else dict(row.data)


def cache_put(
    entity_type: str,
    data: dict[str, Any],
    at: float,
    marker_field: str | None,
    *,
    stale: bool = False,
) -> None:
    """Insert or replace the cached server state of one entity (keyed by its `id`)."""
    marker = None if stale or marker_field is None else data.get(marker_field)
    (
        CachedEntity.insert(
            entity_type=entity_type,
            entity_id=int(data["id"]),
            data=data,
            fetched_at=at,
            change_marker=None if marker is None else str(marker),
            deleted_on_server=False,
        )
        .on_conflict(
            conflict_target=[CachedEntity.entity_type, CachedEntity.entity_id],
            # The values proposed: `data` is sealed for this row's key, the conflict target.
            preserve=[
                CachedEntity.data,
                CachedEntity.fetched_at,
                CachedEntity.change_marker,
                CachedEntity.deleted_on_server,
            ],
        )
        .execute()
    )


def overlays(entity_type: str, key: str) -> dict[str, tuple[Any, int | None]]:
    rows = OverlayValue.select().where(
        (OverlayValue.entity_type == entity_type) & (OverlayValue.entity_key == key)
    )
    return {r.field: (r.value, r.op_id) for r in rows}


def set_overlay(
    entity_type: str, key: str, values: dict[str, Any], op_id: int | None, at: float
) -> None:
    for name, value in values.items():
        (
            OverlayValue.insert(
                entity_type=entity_type,
                entity_key=key,
                field=name,
                value=value,
                op_id=op_id,
                updated_at=at,
            )
            .on_conflict(
                conflict_target=[
                    OverlayValue.entity_type,
                    OverlayValue.entity_key,
                    OverlayValue.field,
                ],
                # The values proposed: `value` is sealed for this row's key, the conflict target.
                preserve=[OverlayValue.value, OverlayValue.op_id, OverlayValue.updated_at],
            )
            .execute()
        )


def clear_overlay(
    entity_type: str, key: str, fields: Iterable[str] | None = None, op_id: int | None = None
) -> int:
    """Drop pending values once synced or discarded; with `op_id`, only values that op owns."""
    cond = (OverlayValue.entity_type == entity_type) & (OverlayValue.entity_key == key)
    if fields is not None:
        cond &= OverlayValue.field.in_(list(fields))
    if op_id is not None:
        cond &= OverlayValue.op_id == op_id
    return int(OverlayValue.delete().where(cond).execute())


def rekey_overlay(entity_type: str, temp_id: str, server_id: int) -> None:
    """A created entity got its server id: its pending values move to the real key (each
    sealed again for its new row key)."""
    for row in OverlayValue.select().where(
        (OverlayValue.entity_type == entity_type)
        & (OverlayValue.entity_key == entity_key(None, temp_id))
    ):
        row.value = row.value  # opened with the key it was sealed for
        row.entity_key = str(server_id)
        row.save()


DELETED = "__deleted__"


def view(entity_type: str, key: str) -> EntityView | None:
    server: dict[str, Any] = {}
    deleted_on_server = False
    if not key.startswith("~"):
        row = CachedEntity.get_or_none(
            (CachedEntity.entity_type == entity_type) & (CachedEntity.entity_id == int(key))
        )
        if row is not None:
            server = dict(row.data)
            deleted_on_server = bool(row.deleted_on_server)
    local = overlays(entity_type, key)
    if not server and not local:
        return None
    values = dict(server)
    pending: dict[str, int | None] = {}
    for name, (value, op_id) in local.items():
        if name == DELETED:
            continue
        values[name] = value
        pending[name] = op_id
    conflict_rows = Conflict.select(Conflict.id, Conflict.field).where(
        (Conflict.entity_type == entity_type)
        & (Conflict.entity_id == _int_or(key, -1))
        & (Conflict.status == ConflictStatus.OPEN)
    )
    return EntityView(
        entity_type=entity_type,
        key=key,
        values=values,
        server=server,
        pending=pending,
        conflicts={c.field: c.id for c in conflict_rows},
        deleted_locally=DELETED in local,
        deleted_on_server=deleted_on_server,
    )


def _int_or(key: str, default: int) -> int:
    return int(key) if key.lstrip("-").isdigit() else default


def picklists(entity_type: str) -> dict[str, dict[int, str]]:
    row = CachedEntity.get_or_none(
        (CachedEntity.entity_type == PICKLIST_PREFIX + entity_type) & (CachedEntity.entity_id == 0)
    )
    if row is None:
        return {}
    return {
        name: {int(v): label for v, label in values.items()}
        for name, values in row.data.items()
        if name != "id"
    }


def save_picklists(entity_type: str, lists: dict[str, dict[int, str]], at: float) -> None:
    data = {name: {str(v): label for v, label in values.items()} for name, values in lists.items()}
    cache_put(PICKLIST_PREFIX + entity_type, {"id": 0, **data}, at, None)
