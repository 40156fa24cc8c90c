"""Writes that may still land. An update or delete whose attempt ended without an answer (a
timeout, a reset, a lost answer) may be applied by Autotask up to its execution limit later
(about five minutes, FACTS.md): uvicorn and IIS alike finish a request the client gave up on.
Applied after a newer edit of the same record, that late write would put an older value back
without anyone seeing it. So a newer operation on the record waits until no such attempt can
land; the uncertain operation's own retry may go (it carries the same values, and its next
attempt reads the server first).

Kept in memory, by record: a restart within those minutes forgets it. A write still unsettled at
the restart keeps its outcome-unknown flag in the outbox, so nothing newer merges into it.
"""

from __future__ import annotations

from agent.queue.operation import Operation
from agent.store.models import OpKind
from agent.sync.reconcile import SERVER_EXECUTION_LIMIT_S

WAIT_MESSAGE = (
    "An earlier attempt to change this record may still reach Autotask. "
    "This change goes after it, within five minutes."
)
_WRITES = (OpKind.UPDATE, OpKind.DELETE)


class LateWrites:
    def __init__(self, horizon: float = SERVER_EXECUTION_LIMIT_S) -> None:
        self.horizon = horizon
        # (entity type, record id) -> {operation id: until when its unanswered attempt may land}
        self._until: dict[tuple[str, int], dict[int, float]] = {}

    def unanswered(self, op: Operation, now: float) -> None:
        """An attempt of `op` ended without an answer at `now`."""
        if op.kind not in _WRITES or op.target_id is None:
            return
        ops = self._until.setdefault((op.entity_type, op.target_id), {})
        ops[op.id] = max(ops.get(op.id, 0.0), now + self.horizon)

    def wait_until(self, op: Operation, now: float) -> float | None:
        """When `op` may go, if another operation's write to its record may still land."""
        if op.kind not in _WRITES or op.target_id is None:
            return None
        key = (op.entity_type, op.target_id)
        ops = self._until.get(key)
        if not ops:
            return None
        for op_id, until in list(ops.items()):
            if until <= now:
                del ops[op_id]
        if not ops:
            del self._until[key]
            return None
        others = [until for op_id, until in ops.items() if op_id != op.id]
        return max(others) if others else None
