"""Capturing a visit's changes the way ticket edits are captured: a service call marked complete
(`isComplete`) and a checklist item ticked or unticked, each in one local transaction with its
overlay, its outbox operation (the changed field and its base) and its audit event.

A checklist change's base also holds the item's completion stamp as the server had it
(`agent.sync.visit_merge` uses it to tell a dispatcher's re-tick from no change at all).
"""

from __future__ import annotations

from agent.api.validation import EditRejected, Problem
from agent.queue.operation import NewOperation
from agent.store.models import OpKind, Priority
from agent.sync import localview
from agent.sync.capture import Capture, Captured
from agent.sync.merge import same
from agent.sync.visit_merge import DONE, STATE_FIELDS
from agent.sync.visit_pull import CALLS, CHECKLIST

COMPLETE = "isComplete"


class VisitCapture(Capture):
    def _update(
        self,
        entity_type: str,
        record_id: int,
        field: str,
        value: object,
        parent_id: int | None,
        also_base: tuple[str, ...] = (),
    ) -> Captured:
        key = str(record_id)
        current = localview.view(entity_type, key)
        if current is None or not current.server:
            raise EditRejected([Problem(field, f"{record_id} is not in your schedule")])
        if current.deleted_on_server:
            raise EditRejected([Problem(field, f"{record_id} was deleted in Autotask")])
        if same(value, current.values.get(field)):
            return Captured(None, key, unchanged=True)
        local = localview.overlays(entity_type, key)
        base = {field: local[field][0] if field in local else current.server.get(field)}
        if field not in local:
            # Over a change still pending, the server's stamp is not the one the pending
            # value will meet: such a change merges as a plain field.
            for name in also_base:
                base[name] = current.server.get(name)
        new = NewOperation(
            OpKind.UPDATE,
            entity_type,
            fields={field: value},
            base=base,
            target_id=record_id,
            parent_id=parent_id,
            priority=Priority.HIGH,
        )
        return self._queue(
            new,
            key,
            {field: value},
            "edit_captured",
            {"kind": "update", "fields": {field: value}, "base": base},
        )

    def complete_service_call(self, call_id: int, complete: bool = True) -> Captured:
        """Mark a service call complete (or not); Autotask keeps `isComplete` as 1 or 0."""
        return self.store.write(
            lambda: self._update(CALLS, call_id, COMPLETE, int(complete), None), durable=True
        )

    def set_checklist_item(self, ticket_id: int, item_id: int, done: bool) -> Captured:
        def run() -> Captured:
            item = localview.cached(CHECKLIST, item_id)
            if item is None or item.get("ticketID") != ticket_id:
                raise EditRejected(
                    [Problem("checklist", f"ticket {ticket_id} has no checklist item {item_id}")]
                )
            return self._update(CHECKLIST, item_id, DONE, bool(done), ticket_id, STATE_FIELDS)

        return self.store.write(run, durable=True)
