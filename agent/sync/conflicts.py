"""Listing and resolving conflicts: per field (mine, theirs or a typed value) or all at once.

A resolution is one transaction: the conflict is closed, the choice and both values go to the
audit trail (so the losing value is never discarded), and the operation returns to the queue with
the server's value as its new base, so the next push sends the chosen value without asking again.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from agent.api.validation import validate_ticket_update, validate_time_entry
from agent.clock import Clock
from agent.queue.operation import LIVE_STATES, NewOperation, OpQuery
from agent.queue.outbox import Outbox
from agent.security.errors import SealedPayloadError
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import (
    AuditEvent,
    CachedEntity,
    Conflict,
    ConflictStatus,
    OpKind,
    OpState,
)
from agent.sync import localview, outcomes, overlays
from agent.sync.policy import SERVER_OWNED_FIELDS

log = logging.getLogger(__name__)

Choice = Literal["mine", "theirs", "value"]


class ConflictError(ValueError):
    """The resolution cannot be applied (already resolved, unknown, or not possible)."""


@dataclass(frozen=True)
class ConflictInfo:
    id: int
    entity_type: str
    entity_id: int
    field: str
    kind: str
    base: Any
    mine: Any
    theirs: Any
    base_read_at: float | None
    mine_at: float | None
    theirs_read_at: float | None
    detected_at: float
    op_id: int | None
    status: str
    resolution: str | None
    resolved_value: Any
    label: str
    # Why its values are not shown: they cannot be read (changed on disk). Such a conflict can
    # still be resolved by keeping Autotask's value, which needs none of them.
    problem: str | None = None
    changed_by: int | None = None  # the resource Autotask named as the last to change it
    record: str = ""  # as the window names it ("Ticket T20240101.0001"), filled by the facade


def _sides(c: Conflict) -> tuple[Any, Any, Any, Any, str | None]:
    """base, mine, theirs, resolved value; or Nones and the reason they cannot be read."""
    try:
        return c.base, c.mine, c.theirs, c.resolved_value, None
    except SealedPayloadError as exc:
        log.warning("conflict #%s: %s", c.id, exc)
        return None, None, None, None, str(exc)


def _changed_by(c: Conflict) -> int | None:
    """Who changed the record in Autotask, as the server said when the conflict was found."""
    events = (
        AuditEvent.select()
        .where(
            (AuditEvent.action == "conflict_detected")
            & (AuditEvent.op_id == c.op_id)
            & (AuditEvent.entity_type == c.entity_type)
            & (AuditEvent.entity_id == str(c.entity_id))
        )
        .order_by(AuditEvent.id.desc())
    )
    for event in events:
        try:
            detail = json.loads(event.detail)  # the plain part: field and changed_by
        except ValueError:
            continue
        if detail.get("field") == c.field:
            by = detail.get("changed_by")
            return by if isinstance(by, int) else None
    return None


def _info(c: Conflict) -> ConflictInfo:
    try:
        cached = localview.cached(c.entity_type, c.entity_id) or {}
    except SealedPayloadError as exc:  # only the label is missing: said in the log
        log.warning("%s", exc)
        cached = {}
    label = str(cached.get("title") or cached.get("summaryNotes") or f"#{c.entity_id}")
    base, mine, theirs, resolved, problem = _sides(c)
    return ConflictInfo(
        id=c.id,
        entity_type=c.entity_type,
        entity_id=c.entity_id,
        field=c.field,
        kind=c.kind,
        base=base,
        mine=mine,
        theirs=theirs,
        base_read_at=c.base_read_at,
        mine_at=c.mine_at,
        theirs_read_at=c.theirs_read_at,
        detected_at=c.detected_at,
        op_id=c.op_id,
        status=c.status,
        resolution=c.resolution,
        resolved_value=resolved,
        label=label,
        problem=problem,
        changed_by=_changed_by(c) if c.op_id is not None else None,
    )


class ConflictDesk:
    def __init__(self, store: Store, outbox: Outbox, clock: Clock) -> None:
        self.store, self.outbox, self.clock = store, outbox, clock

    def list_conflicts(self, *, include_resolved: bool = False) -> list[ConflictInfo]:
        def run() -> list[ConflictInfo]:
            q = Conflict.select().order_by(Conflict.id)
            if not include_resolved:
                q = q.where(Conflict.status == ConflictStatus.OPEN)
            listed = []
            for c in q:
                try:
                    listed.append(_info(c))
                except SealedPayloadError as exc:  # the rest still shows; the log names it
                    log.warning("left out of the list: %s", exc)
            return listed

        return self.store.read(run)

    def get(self, conflict_id: int) -> ConflictInfo:
        row = self.store.read(lambda: Conflict.get_or_none(Conflict.id == conflict_id))
        if row is None:
            raise ConflictError(f"There is no conflict #{conflict_id}.")
        return self.store.read(lambda: _info(row))

    def resolve(self, conflict_id: int, choice: Choice, value: Any = None) -> ConflictInfo:
        # A person's decision: committed with a full sync, like a captured edit.
        return self.store.write(lambda: self._resolve(conflict_id, choice, value), durable=True)

    def resolve_all(
        self, choice: Literal["mine", "theirs"], ids: list[int] | None = None
    ) -> list[ConflictInfo]:
        """Apply one choice to every open conflict (or the given ones), in one transaction."""

        def run() -> list[ConflictInfo]:
            targets = ids or [
                c.id
                for c in Conflict.select(Conflict.id).where(Conflict.status == ConflictStatus.OPEN)
            ]
            if choice != "theirs":  # one whose values cannot be read waits; the others go
                targets = [i for i in targets if not self._unreadable(i)]
            return [self._resolve(i, choice, None) for i in targets]

        return self.store.write(run, durable=True)

    def resolve_here(self, conflict_id: int, choice: Choice, value: Any = None) -> ConflictInfo:
        """`resolve` inside the caller's write (e.g. a captured edit that settles a conflict)."""
        return self._resolve(conflict_id, choice, value)

    @staticmethod
    def _unreadable(conflict_id: int) -> bool:
        c = Conflict.get_or_none(Conflict.id == conflict_id)
        return c is not None and _sides(c)[4] is not None

    def _resolve(self, conflict_id: int, choice: Choice, value: Any) -> ConflictInfo:
        c = Conflict.get_or_none(Conflict.id == conflict_id)
        if c is None:
            raise ConflictError(f"There is no conflict #{conflict_id}.")
        if c.status != ConflictStatus.OPEN:
            raise ConflictError(f"Conflict #{conflict_id} is already resolved ({c.resolution}).")
        if choice not in ("mine", "theirs", "value"):
            raise ConflictError(f"Choose mine, theirs or value (got {choice!r}).")
        now = self.clock.now().timestamp()
        problem = _sides(c)[4]
        if problem is not None:
            return self._resolve_unreadable(c, choice, now, problem)
        op = self.outbox.get(c.op_id) if c.op_id is not None else None
        if c.kind == outcomes.DELETED:
            chosen = self._resolve_deleted(c, choice, op, now)
        elif c.kind == outcomes.CHANGED:
            chosen = self._resolve_changed(c, choice, op)
        else:
            chosen = self._resolve_field(c, choice, value, op, now)
        c.status, c.resolution, c.resolved_value, c.resolved_at = (
            ConflictStatus.RESOLVED,
            choice,
            chosen,
            now,
        )
        c.save()
        overlays.clear_ended(self.outbox)  # a cancel above ends the op and its dependents
        losing = c.theirs if choice != "theirs" else c.mine
        audit.append(
            "conflict_resolved",
            at=now,
            entity_type=c.entity_type,
            entity_id=c.entity_id,
            op_id=c.op_id,
            detail={
                "field": c.field,
                "choice": choice,
                "chosen": chosen,
                "base": c.base,
                "mine": c.mine,
                "theirs": c.theirs,
                "losing": losing,
            },
        )
        return _info(c)

    def _resolve_unreadable(
        self, c: Conflict, choice: Choice, now: float, problem: str
    ) -> ConflictInfo:
        """A conflict whose stored values do not open: only Autotask's value can be kept (it
        needs none of them): the field leaves the queued change, whose other fields still go."""
        if choice != "theirs":
            raise ConflictError(
                f"Conflict #{c.id} cannot be read ({problem}). Keep Autotask's value, or "
                "discard the change on the Queue page."
            )
        op = self.outbox.get(c.op_id) if c.op_id is not None else None
        if op is not None and op.is_live:
            fields = {k: v for k, v in op.fields.items() if k != c.field}
            base = {k: v for k, v in op.base.items() if k != c.field}
            if fields:
                self.outbox.rewrite(op.id, fields=fields, base=base)
                if op.state in (OpState.CONFLICT, OpState.PARKED):
                    self.outbox.requeue(op.id)
            else:
                self.outbox.cancel(op.id, "conflict resolved: the server's values were kept")
        localview.clear_overlay(c.entity_type, str(c.entity_id), fields=[c.field])
        Conflict.update(status=ConflictStatus.RESOLVED, resolution=choice, resolved_at=now).where(
            Conflict.id == c.id
        ).execute()
        overlays.clear_ended(self.outbox)
        audit.append(
            "conflict_resolved",
            at=now,
            entity_type=c.entity_type,
            entity_id=c.entity_id,
            op_id=c.op_id,
            detail={"field": c.field, "choice": choice, "problem": problem},
        )
        resolved = Conflict.get_by_id(c.id)
        return _info(resolved)

    def _resolve_field(self, c: Conflict, choice: Choice, value: Any, op: Any, now: float) -> Any:
        if choice == "value":
            self._validate(c.entity_type, c.field, value)
            chosen = value
        else:
            chosen = c.mine if choice == "mine" else c.theirs
        if op is None or not op.is_live:
            return chosen  # the operation already finished: nothing is left to change
        fields, base = dict(op.fields), dict(op.base)
        key = str(c.entity_id)
        if choice == "theirs":
            fields.pop(c.field, None)
            base.pop(c.field, None)
            # Only this change's pending value: a newer change of the same field (typed while
            # this one was in flight, so queued apart) is still queued and still shown. One
            # typed while the conflict was open joined this change (`over_conflict`).
            localview.clear_overlay(c.entity_type, key, fields=[c.field], op_id=op.id)
            cached = localview.cached(c.entity_type, c.entity_id)
            if cached is not None:
                cached[c.field] = c.theirs
                localview.cache_put(c.entity_type, cached, now, None, stale=True)
        else:
            fields[c.field] = chosen
            base[c.field] = c.theirs  # the server's value is the new base: no second conflict
            localview.set_overlay(c.entity_type, key, {c.field: chosen}, op.id, now)
        self._rebase_newer(c, op)
        still_open = (
            Conflict.select()
            .where(
                (Conflict.op == op.id)
                & (Conflict.status == ConflictStatus.OPEN)
                & (Conflict.id != c.id)
            )
            .count()
        )
        if fields:
            self.outbox.rewrite(op.id, fields=fields, base=base)
            if not still_open and op.state in (OpState.CONFLICT, OpState.PARKED):
                self.outbox.requeue(op.id)
        elif not still_open:
            self.outbox.cancel(op.id, "conflict resolved: the server's values were kept")
        return chosen

    def _rebase_newer(self, c: Conflict, op: Any) -> None:
        """A newer change of the same field queued apart (typed while this one was in flight)
        is rebased on the server's value: the technician has now decided about that value, so
        the newer change is sent as typed rather than found in conflict with it."""
        query = OpQuery(
            states=LIVE_STATES, entity_type=c.entity_type, target_id=c.entity_id, limit=100
        )
        for newer in self.outbox.list_ops(query).items:
            if newer.id > op.id and c.field in newer.fields and c.field in newer.base:
                base = {**newer.base, c.field: c.theirs}
                self.outbox.rewrite(newer.id, fields=dict(newer.fields), base=base)

    def _resolve_changed(self, c: Conflict, choice: Choice, op: Any) -> Any:
        """A record deleted here that Autotask changed since: keep Autotask's version (the
        delete is dropped and the record shows again), or delete it anyway (the delete goes
        at the next push, against the server's values as they were just read)."""
        if choice == "value":
            raise ConflictError(
                "This record was deleted on this laptop and changed in Autotask: keep "
                "Autotask's version, or delete it anyway."
            )
        if op is None or not op.is_live:
            return c.theirs if choice == "theirs" else None
        if choice == "theirs":
            self.outbox.cancel(op.id, "changed in Autotask; its version was kept")
            localview.clear_overlay(c.entity_type, str(c.entity_id), op_id=op.id)
            return c.theirs
        base = {**op.base, **(c.theirs or {})}  # what the technician decided against
        self.outbox.rewrite(op.id, fields=dict(op.fields), base=base)
        if op.state in (OpState.CONFLICT, OpState.PARKED):
            self.outbox.requeue(op.id)
        return None

    def _resolve_deleted(self, c: Conflict, choice: Choice, op: Any, now: float) -> Any:
        key = str(c.entity_id)
        if choice == "theirs":
            if op is not None:
                self.outbox.cancel(op.id, "deleted on the server; the deletion was accepted")
            localview.clear_overlay(c.entity_type, key)
            CachedEntity.delete().where(
                (CachedEntity.entity_type == c.entity_type)
                & (CachedEntity.entity_id == c.entity_id)
            ).execute()
            return None
        if c.entity_type not in ("TimeEntries", "TicketNotes"):
            raise ConflictError(
                "This record was deleted in Autotask and cannot be recreated "
                "from Field Sync; keep the server's version."
            )
        cached = localview.cached(c.entity_type, c.entity_id) or {}
        values = {
            k: v
            for k, v in {**cached, **(c.mine or {})}.items()
            if k.lower() not in SERVER_OWNED_FIELDS and v is not None
        }
        temp = uuid.uuid4().hex
        new = self.outbox.enqueue(
            NewOperation(
                OpKind.CREATE,
                c.entity_type,
                fields=values,
                temp_id=temp,
                parent_id=values.get("ticketID"),
            )
        )
        if op is not None:
            self.outbox.cancel(op.id, f"recreated as operation #{new.id}")
        localview.clear_overlay(c.entity_type, key)
        localview.set_overlay(c.entity_type, f"~{temp}", values, new.id, now)
        return values

    @staticmethod
    def _validate(entity_type: str, field: str, value: Any) -> None:
        if entity_type == "Tickets":
            validate_ticket_update({field: value}, localview.picklists("Tickets"))
        elif entity_type == "TimeEntries":
            validate_time_entry({field: value}, localview.picklists("TimeEntries"), partial=True)
