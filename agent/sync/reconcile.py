"""Reconciliation: before new work is sent, settle what a crash or a lost answer left uncertain.

Expired leases come back (flagged outcome-unknown when the write may have reached the server).
An outcome-unknown create is looked up by its natural key and, when found, the server's id is
adopted instead of creating it again; updates and deletes are safe to repeat through the merge
(an update the server already has merges as "already equal"; a repeated delete answers 404).
A record just created can be invisible for a moment (read-after-write lag), so "not found" is
only believed once `grace_seconds` have passed since the write was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.autotask.queries import FilterItem, and_, eq, gte, lte
from agent.clock import Clock
from agent.queue.operation import Operation, OpQuery
from agent.queue.outbox import Outbox
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import AuditEvent, OpKind, OpState
from agent.sync import outcomes

log = logging.getLogger(__name__)
NOTE_WINDOW = timedelta(minutes=30)


def natural_key(op: Operation, technician_resource_id: int | None) -> list[FilterItem] | None:
    """The filter that finds a create's record on the server without knowing its id."""
    f = op.fields
    if op.entity_type == "TimeEntries":
        items: list[FilterItem] = [eq("resourceID", f["resourceID"])]
        if f.get("ticketID") is not None:
            items.append(eq("ticketID", f["ticketID"]))
        items.append(eq("dateWorked", f["dateWorked"]))
        if f.get("startDateTime") and f.get("endDateTime"):
            items += [eq("startDateTime", f["startDateTime"]), eq("endDateTime", f["endDateTime"])]
        else:
            items.append(eq("hoursWorked", f["hoursWorked"]))
        items.append(eq("summaryNotes", f["summaryNotes"]))
        return items
    if op.entity_type == "TicketNotes":
        created = datetime.fromtimestamp(op.created_at, UTC)
        items = [
            eq("ticketID", f["ticketID"]),
            eq("description", f["description"]),
            gte("createDateTime", _iso(created - NOTE_WINDOW)),
            lte("createDateTime", _iso(created + NOTE_WINDOW + timedelta(days=7))),
        ]
        if f.get("title"):
            items.append(eq("title", f["title"]))
        if technician_resource_id is not None:
            items.append(eq("creatorResourceID", technician_resource_id))
        return items
    return None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Lookup = Callable[[str, list[FilterItem]], Awaitable[list[dict[str, Any]]]]


class Reconciler:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        clock: Clock,
        lookup: Lookup,
        technician_resource_id: int | None,
        grace_seconds: float = 20.0,
    ) -> None:
        self.store, self.outbox, self.clock = store, outbox, clock
        self.lookup = lookup
        self.technician_resource_id = technician_resource_id
        self.grace_seconds = grace_seconds

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def uncertain(self) -> list[Operation]:
        page = self.outbox.list_ops(
            OpQuery(states=frozenset({OpState.PENDING}), outcome_unknown=True, limit=10_000)
        )
        return page.items

    async def run(self, *, held_by: str | None = None) -> int:
        """Recover leases (with `held_by`, that owner's too: a restart's leftovers), then settle
        every outcome-unknown operation; returns how many were settled."""
        await self.store.awrite(lambda: self.outbox.recover_expired_leases(held_by=held_by))
        settled = 0
        for op in await self.store.aread(self.uncertain):
            if await self.settle(op):
                settled += 1
        return settled

    async def settle(self, op: Operation) -> bool:
        now = self._now()
        if op.kind is not OpKind.CREATE:
            await self.store.awrite(lambda: self._clear_flag(op, now, "safe to repeat"))
            return True
        key = natural_key(op, self.technician_resource_id)
        if key is None:
            return False
        matches = await self.lookup(op.endpoint, [and_(*key)] if len(key) > 1 else key)
        if matches:
            server_id = min(int(m["id"]) for m in matches)

            def adopt() -> None:
                outcomes.succeeded(
                    self.outbox,
                    op,
                    now=now,
                    server_id=server_id,
                    server_values=matches[0],
                    sent={},
                    reason="the lost create had landed; its id was adopted",
                )
                audit.append(
                    "reconciled",
                    at=now,
                    entity_type=op.entity_type,
                    entity_id=server_id,
                    op_id=op.id,
                    detail={"outcome": "landed", "adopted_id": server_id},
                )

            await self.store.awrite(adopt)
            return True
        sent_at = await self.store.aread(lambda: self._last_sent_at(op))
        if now - sent_at < self.grace_seconds:
            retry = sent_at + self.grace_seconds
            await self.store.awrite(
                lambda: self.outbox.release(
                    op.id,
                    retry,
                    "waiting to confirm whether the create landed",
                    "reconcile",
                    outcome_unknown=True,
                )
            )
            return False
        await self.store.awrite(lambda: self._clear_flag(op, now, "not on the server"))
        return True

    @staticmethod
    def _last_sent_at(op: Operation) -> float:
        """When the last attempt went out (the audit's "sent" event; else the op's last change)."""
        event = (
            AuditEvent.select(AuditEvent.at)
            .where((AuditEvent.op_id == op.id) & (AuditEvent.action == "sent"))
            .order_by(AuditEvent.id.desc())
            .first()
        )
        return float(event.at) if event is not None else op.updated_at

    def _clear_flag(self, op: Operation, now: float, outcome: str) -> None:
        self.outbox.release(op.id, now, op.last_error, op.error_category, outcome_unknown=False)
        audit.append(
            "reconciled",
            at=now,
            entity_type=op.entity_type,
            entity_id=op.entity_key,
            op_id=op.id,
            detail={"outcome": outcome},
        )
