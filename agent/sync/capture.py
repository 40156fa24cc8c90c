"""Capturing a technician's edit: validate, then in one transaction update the overlay, queue the
operation (only the changed fields, with their base values) and append the audit event.

Each capture commits with a full sync (`durable=True`), whatever the store's `durability` says for
bulk work: what a person typed must survive a power cut right after it was saved."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.api.validation import (
    NOTHING_KNOWN,
    EditRejected,
    Known,
    Problem,
    validate_note,
    validate_ticket_update,
    validate_time_entry,
)
from agent.clock import Clock
from agent.queue.operation import NewOperation, Operation, entity_key
from agent.queue.outbox import Outbox
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import CachedEntity, OpKind, OpState, Priority, SyncCursor
from agent.sync import localview, over_conflict
from agent.sync.conflicts import ConflictDesk
from agent.sync.merge import same
from agent.sync.policy import compared_before_delete

TICKETS, NOTES, TIME = "Tickets", "TicketNotes", "TimeEntries"


@dataclass(frozen=True)
class Captured:
    """What an accepted edit became: the operation carrying it and the entity's key."""

    op_id: int | None
    key: str
    coalesced: bool = False
    unchanged: bool = False


def resource_roles() -> dict[int, set[int]]:
    """Each cached resource's role ids (from the `roles` list the pull stores with it)."""
    rows = CachedEntity.select(
        CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
    ).where(CachedEntity.entity_type == "Resources")
    return {int(r.entity_id): {int(x) for x in r.data.get("roles", [])} for r in rows}


def known_references(ticket_ids: Iterable[Any] = ()) -> Known:
    """What the cache positively knows (see `agent.api.validation`): nothing before the first
    full download has completed; afterwards every active resource with its roles, and which of
    `ticket_ids` are tickets in the technician's list (not deleted in Autotask)."""
    cursor = SyncCursor.get_or_none(SyncCursor.entity_type == TICKETS)
    if cursor is None or cursor.last_full_sync_at is None:
        return Known()
    rows = CachedEntity.select(
        CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
    ).where(CachedEntity.entity_type == "Resources")
    resources = {
        int(r.entity_id): frozenset(int(x) for x in r.data.get("roles", []))
        for r in rows
        if r.data.get("isActive", True) is not False
    }
    wanted = sorted({int(t) for t in ticket_ids if isinstance(t, int) and not isinstance(t, bool)})
    listed = CachedEntity.select(CachedEntity.entity_id).where(
        (CachedEntity.entity_type == TICKETS)
        & CachedEntity.entity_id.in_(wanted)
        & (CachedEntity.deleted_on_server == False)  # noqa: E712 (a SQL comparison)
    )
    return Known(
        resources=resources or None,
        tickets=frozenset(int(r.entity_id) for r in listed) if wanted else frozenset(),
    )


def _references(ticket_ids: Iterable[Any] = ()) -> tuple[dict[int, set[int]] | None, Known]:
    """Role lists to check against (only read when the full download has not completed yet)
    and what the cache knows; one read of the resources either way."""
    known = known_references(ticket_ids)
    return (resource_roles() if known.resources is None else None), known


def _deadline(server: Mapping[str, Any]) -> float | None:
    due = server.get("dueDateTime")
    if not isinstance(due, str):
        return None
    try:
        return datetime.fromisoformat(due.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Capture:
    def __init__(
        self, store: Store, outbox: Outbox, clock: Clock, technician_resource_id: int | None = None
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.technician_resource_id = technician_resource_id

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _queue(
        self,
        new: NewOperation,
        key: str,
        values: dict[str, Any],
        action: str,
        detail: dict[str, Any],
    ) -> Captured:
        before = self.outbox.count()
        now = self._now()
        # A field whose earlier change waits on a conflict joins that change (see the module).
        absorbed = over_conflict.absorb(self.outbox, self._desk(), new, now)
        rest = new if absorbed is None else absorbed.rest
        op: Operation | None = self.outbox.enqueue(rest) if rest is not None else None
        if op is not None and op.state is OpState.CANCELLED:  # e.g. created and deleted unsent
            localview.clear_overlay(new.entity_type, key)
        elif op is not None and rest is not None:
            # The fields a waiting operation took are shown as its own (`over_conflict`).
            shown = {f: v for f, v in values.items() if absorbed is None or f in rest.fields}
            localview.set_overlay(new.entity_type, key, shown, op.id, now)
        op_id = op.id if op is not None else max(absorbed.held) if absorbed is not None else None
        audit.append(
            action, at=now, entity_type=new.entity_type, entity_id=key, op_id=op_id, detail=detail
        )
        return Captured(op_id, key, coalesced=self.outbox.count() == before)

    def _desk(self) -> ConflictDesk:
        return ConflictDesk(self.store, self.outbox, self.clock)

    def _queue_update(
        self,
        entity: str,
        key: str,
        target: tuple[int | None, str | None, Any],
        effective: dict[str, Any],
        server: Mapping[str, Any],
    ) -> Captured:
        """Queue the `effective` changes of the record `key` of `entity` (a child of a ticket:
        `target` is its server id, temporary id and parent), each against the value it was
        made from: a pending one's own base, else the server's (inside the capture's write)."""
        target_id, temp_id, parent_id = target
        local = localview.overlays(entity, key)
        base = {f: local[f][0] if f in local else server.get(f) for f in effective}
        new = NewOperation(
            OpKind.UPDATE,
            entity,
            fields=effective,
            base=base,
            target_id=target_id,
            temp_id=temp_id,
            parent_id=parent_id,
        )
        detail = {"kind": "update", "fields": effective, "base": base}
        return self._queue(new, key, effective, "edit_captured", detail)

    def _queue_delete(
        self,
        entity: str,
        key: str,
        target: tuple[int | None, str | None, Any],
        values: Mapping[str, Any],
    ) -> Captured:
        """Queue the deletion of the record `key` of `entity` (see `_queue_update`), made
        against `values`, the record as the technician sees it (the server's, with their own
        pending changes): kept as the delete's base, so the push finds a change the server made
        since and asks before deleting it."""
        target_id, temp_id, parent_id = target
        base = {
            f: v
            for f, v in values.items()
            if target_id is not None and compared_before_delete(entity, f)
        }
        new = NewOperation(
            OpKind.DELETE,
            entity,
            fields={},
            base=base,
            target_id=target_id,
            temp_id=temp_id,
            parent_id=parent_id,
        )
        deleted = {localview.DELETED: True}
        return self._queue(new, key, deleted, "edit_captured", {"kind": "delete"})

    def update_ticket(self, ticket_id: int, changes: Mapping[str, Any]) -> Captured:
        def run() -> Captured:
            # The cache's resources are read only for an edit that names one (the assignee).
            assigns = "assignedResourceID" in changes or "assignedResourceRoleID" in changes
            roles, known = _references() if assigns else (None, NOTHING_KNOWN)
            validate_ticket_update(changes, localview.picklists(TICKETS), roles, known)
            key = str(ticket_id)
            current = localview.view(TICKETS, key)
            if current is None or not current.server:
                raise EditRejected([Problem("ticket", f"ticket {ticket_id} is not in your list")])
            effective = {f: v for f, v in changes.items() if not same(v, current.values.get(f))}
            if not effective:
                return Captured(None, key, unchanged=True)
            local = localview.overlays(TICKETS, key)
            base = {f: local[f][0] if f in local else current.server.get(f) for f in effective}
            new = NewOperation(
                OpKind.UPDATE,
                TICKETS,
                fields=effective,
                base=base,
                target_id=ticket_id,
                priority=Priority.HIGH,
                deadline_at=_deadline(current.server),
            )
            return self._queue(
                new,
                key,
                effective,
                "edit_captured",
                {"kind": "update", "fields": effective, "base": base},
            )

        return self.store.write(run, durable=True)

    def add_note(
        self,
        ticket_id: int,
        description: str,
        *,
        title: str | None = None,
        note_type: int,
        publish: int,
    ) -> Captured:
        note = {
            "ticketID": ticket_id,
            "title": title,
            "description": description,
            "noteType": note_type,
            "publish": publish,
        }

        def run() -> Captured:
            validate_note(note, localview.picklists(NOTES), _references([ticket_id])[1])
            temp = uuid.uuid4().hex
            fields = {k: v for k, v in note.items() if v is not None}
            new = NewOperation(
                OpKind.CREATE,
                NOTES,
                fields=fields,
                temp_id=temp,
                parent_id=ticket_id,
                priority=Priority.NORMAL,
            )
            return self._queue(
                new,
                entity_key(None, temp),
                fields,
                "edit_captured",
                {"kind": "create", "fields": fields},
            )

        return self.store.write(run, durable=True)

    def log_time(self, entry: Mapping[str, Any]) -> Captured:
        fields = {k: v for k, v in entry.items() if v is not None}
        fields.setdefault("resourceID", self.technician_resource_id)

        def run() -> Captured:
            roles, known = _references([fields.get("ticketID")])
            validate_time_entry(fields, localview.picklists(TIME), roles, known=known)
            temp = uuid.uuid4().hex
            new = NewOperation(
                OpKind.CREATE,
                TIME,
                fields=fields,
                temp_id=temp,
                parent_id=fields.get("ticketID"),
                priority=Priority.NORMAL,
            )
            return self._queue(
                new,
                entity_key(None, temp),
                fields,
                "edit_captured",
                {"kind": "create", "fields": fields},
            )

        return self.store.write(run, durable=True)

    def _time_target(self, key: str) -> tuple[int | None, str | None, dict[str, Any]]:
        current = localview.view(TIME, key)
        if current is None or current.deleted_locally:
            raise EditRejected([Problem("timeEntry", f"time entry {key} does not exist")])
        if key.startswith("~"):
            return None, key[1:], current.values
        return int(key), None, current.values

    def update_time_entry(self, key: str, changes: Mapping[str, Any]) -> Captured:
        def run() -> Captured:
            target_id, temp_id, values = self._time_target(key)
            effective = {f: v for f, v in changes.items() if not same(v, values.get(f))}
            if not effective:
                return Captured(None, key, unchanged=True)
            roles, known = _references([effective.get("ticketID")])
            validate_time_entry(
                {**values, **effective},
                localview.picklists(TIME),
                roles if roles is not None else known.resources,
                known=Known(  # an entry's existing references were the server's own
                    known.resources if "resourceID" in effective else None,
                    known.tickets if "ticketID" in effective else None,
                ),
            )
            server = localview.cached(TIME, target_id) if target_id is not None else {}
            target = (target_id, temp_id, values.get("ticketID"))
            return self._queue_update(TIME, key, target, effective, server or {})

        return self.store.write(run, durable=True)

    def delete_time_entry(self, key: str) -> Captured:
        def run() -> Captured:
            target_id, temp_id, values = self._time_target(key)
            target = (target_id, temp_id, values.get("ticketID"))
            return self._queue_delete(TIME, key, target, values)

        return self.store.write(run, durable=True)
