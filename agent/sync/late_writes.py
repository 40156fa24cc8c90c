"""Writes that may still land. An update or delete whose attempt ended without an answer (a
timeout, a reset, a lost answer) may be applied by Autotask up to its execution limit later
(about five minutes, FACTS.md): uvicorn and IIS alike finish a request the client gave up on.
Applied after a newer edit of the same record, that late write would put an older value back
without anyone seeing it. So a newer change of the record waits until no such attempt can land;
the uncertain operation's own retry may go while it carries the very values that went (its next
attempt reads the server first), not once a conflict's answer has changed them.

Times are on the monotonic clock (a wall clock set days ahead ends no wait). The horizons are
kept in the store's settings table (one row, written with the failure that earns them), so a
restart or a new sign-in still waits; after a reboot, whose monotonic clock starts again, the
wall time since the save is used, and never more than the horizon is waited.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from agent.clock import Clock
from agent.queue.operation import Operation
from agent.store.models import OpKind, Setting
from agent.sync.merge import same
from agent.sync.reconcile import SERVER_EXECUTION_LIMIT_S

ROW = "late_writes"
WAIT_MESSAGE = (
    "An earlier attempt to change this record may still reach Autotask. "
    "This change goes after it, within five minutes."
)
_WRITES = (OpKind.UPDATE, OpKind.DELETE)


def _sent(op: Operation) -> str:
    return json.dumps(op.fields, sort_keys=True, default=str)


class LateWrites:
    def __init__(self, clock: Clock, horizon: float = SERVER_EXECUTION_LIMIT_S) -> None:
        self.clock, self.horizon = clock, horizon
        # "entity type:record id" -> {operation id: (monotonic until, what that attempt sent)}
        self._until: dict[str, dict[int, tuple[float, str]]] = {}

    @staticmethod
    def _key(op: Operation) -> str | None:
        if op.kind not in _WRITES or op.target_id is None:
            return None
        return f"{op.entity_type}:{op.target_id}"

    def unanswered(self, op: Operation) -> None:
        """An attempt of `op` ended without an answer just now (call inside a store write)."""
        key = self._key(op)
        if key is None:
            return
        self._drop_past()
        ops = self._until.setdefault(key, {})
        ops[op.id] = (self.clock.monotonic() + self.horizon, _sent(op))
        self._save()

    def recall(self, ops: Iterable[Operation]) -> None:
        """Live updates and deletes the outbox still holds as outcome-unknown (a crash while
        one was on the wire, a lost answer before a restart, a damaged row) may land from now
        on: each gets the full horizon unless one is known (call inside a store write)."""
        added = False
        until = self.clock.monotonic() + self.horizon
        for op in ops:
            key = self._key(op)
            if key is not None and op.outcome_unknown and op.id not in self._until.get(key, {}):
                self._until.setdefault(key, {})[op.id] = (until, _sent(op))
                added = True
        if added:
            self._save()

    def wait(self, op: Operation) -> float | None:
        """Seconds `op` must wait for another attempt's write to its record; None: it may go."""
        key = self._key(op)
        if key is None or key not in self._until:
            return None
        self._drop_past()
        now = self.clock.monotonic()
        waits = [
            until - now
            for op_id, (until, sent) in self._until.get(key, {}).items()
            if until > now and (op_id != op.id or sent != _sent(op))
        ]
        return max(waits) if waits else None

    def ours(self, op: Operation, theirs: Mapping[str, Any]) -> dict[str, Any]:
        """The fields of `op` whose server value is what an unanswered attempt on the record
        sent: a late write of the technician's own, not a change made in Autotask, so the merge
        takes it as the base rather than asking the technician about their own older value."""
        key = self._key(op)
        found: dict[str, Any] = {}
        for _, sent in self._until.get(key or "", {}).values():
            values = json.loads(sent)
            for name in op.fields:
                if name in values and name in theirs and same(values[name], theirs[name]):
                    found[name] = theirs[name]
        return found

    def _drop_past(self) -> None:
        """Forget attempts long past: a late write is recognised as ours for one more horizon
        after the wait for it ends (the first send after the wait meets it)."""
        now = self.clock.monotonic() - self.horizon
        for key in list(self._until):
            left = {i: e for i, e in self._until[key].items() if e[0] > now}
            if left:
                self._until[key] = left
            else:
                del self._until[key]

    # -- kept in the store ----------------------------------------------------------------------
    def _save(self) -> None:
        row: dict[str, Any] = {
            "at": [self.clock.now().timestamp(), self.clock.monotonic()],
            "writes": {
                key: {str(i): [until, sent] for i, (until, sent) in ops.items()}
                for key, ops in self._until.items()
            },
        }
        Setting.replace(key=ROW, value=json.dumps(row)).execute()

    def load(self) -> None:
        """Take the horizons saved by an earlier run (call inside a store read)."""
        raw = Setting.select(Setting.value).where(Setting.key == ROW).scalar()
        try:
            row = json.loads(raw) if raw else {}
            wall, mono = (float(x) for x in row.get("at", [0.0, 0.0]))
            now_mono = self.clock.monotonic()
            # Same boot: the monotonic clock goes on. After a reboot: the wall time since.
            elapsed = now_mono - mono if now_mono >= mono else self.clock.now().timestamp() - wall
            elapsed = max(0.0, elapsed)
            for key, ops in dict(row.get("writes", {})).items():
                for op_id, (until, sent) in dict(ops).items():
                    left = min(self.horizon, float(until) - mono - elapsed)
                    if left > -self.horizon:  # still waited for, or still recognised
                        self._until.setdefault(str(key), {})[int(op_id)] = (
                            now_mono + left,
                            str(sent),
                        )
        except (TypeError, ValueError, AttributeError):
            self._until = {}  # a damaged row: the next failure writes it anew
