"""The rows a pull step keeps in `VisitIndex` (a record's parent and time window) and the
cursor that says when the step last read, shared by the visit and context steps."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from agent.store.models import CachedEntity, OverlayValue, SyncCursor, VisitIndex

log = logging.getLogger(__name__)


def whole_int(value: Any) -> int | None:
    """`value` when it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def child_row(entity: str, record: dict[str, Any], parent_field: str | None) -> dict[str, Any]:
    """The index row of `record`, under the parent its `parent_field` names (if any)."""
    return {
        "entity_type": entity,
        "entity_id": int(record["id"]),
        "parent_id": whole_int(record.get(parent_field)) if parent_field else None,
        "starts_at": None,
        "ends_at": None,
    }


def put(rows: Iterable[dict[str, Any]]) -> None:
    """Add `rows` to the index; a row already there keeps its parent and window."""
    for row in rows:
        VisitIndex.insert(**row).on_conflict(
            conflict_target=[VisitIndex.entity_type, VisitIndex.entity_id],
            preserve=[VisitIndex.parent_id, VisitIndex.starts_at, VisitIndex.ends_at],
        ).execute()


def forget(
    entity: str,
    where: Any,
    rows: list[dict[str, Any]],
    *,
    uncache: bool = True,
    also: Iterable[int] = (),
    left: str = "the cache",
) -> None:
    """Drop the index rows of `entity` under `where` (and the ids in `also`) that `rows` no
    longer holds; with `uncache`, their cached records too, unless a change of one still waits
    to be sent. Runs inside a store write."""
    keep = {r["entity_id"] for r in rows if r["entity_type"] == entity}
    indexed = [int(r.entity_id) for r in VisitIndex.select(VisitIndex.entity_id).where(where)]
    gone = sorted({i for i in [*indexed, *also] if i not in keep})
    if not gone:
        return
    VisitIndex.delete().where(
        (VisitIndex.entity_type == entity) & VisitIndex.entity_id.in_(gone)
    ).execute()
    if not uncache:
        return
    pending = {
        int(r.entity_key)
        for r in OverlayValue.select(OverlayValue.entity_key).where(
            (OverlayValue.entity_type == entity)
            & OverlayValue.entity_key.in_([str(i) for i in gone])
        )
    }
    CachedEntity.delete().where(
        (CachedEntity.entity_type == entity)
        & CachedEntity.entity_id.in_([i for i in gone if i not in pending])
    ).execute()
    log.info("%d %s left %s", len(gone), entity, left)


def last_read(cursor: str) -> float | None:
    """When the step named `cursor` last read everything (inside a store read)."""
    row = SyncCursor.get_or_none(SyncCursor.entity_type == cursor)
    return None if row is None else row.last_refresh_at


def mark_read(cursor: str, at: float) -> None:
    """Record that the step named `cursor` read everything at `at` (inside a store write)."""
    SyncCursor.insert(entity_type=cursor, last_refresh_at=at).on_conflict(
        conflict_target=[SyncCursor.entity_type], update={SyncCursor.last_refresh_at: at}
    ).execute()
