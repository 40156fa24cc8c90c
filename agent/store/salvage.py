"""Salvage: bring the unsent work of a damaged database into a fresh one (see `rebuild`).

What comes over, each row copied as stored (sealed values stay sealed with the same data key):
the outbox operations not yet done and their dependencies (done and cancelled ones too, as the
history they are, which keeps their ids taken), the overlays showing them, the open conflicts,
the audit trail (see `salvage_audit`) and the settings. The server's cached records and sync
cursors stay behind: the next sync downloads them again.

Exactly once: an operation that was leased when the file broke may already have been sent, so it
comes back pending *and outcome-unknown*, and reconciliation looks it up before anything resends
it. Operations are kept under their own ids, so their audit events still point at them.

What could not be read is counted, not guessed: a row known to exist (its rowid met by a seek, or
listed in an index that survived) but unreadable or failing its model's types counts as
unreadable unless an index says it was already done.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.canonical import canonical_bytes
from agent.security.sealing import SealingCodec
from agent.store import audit
from agent.store.errors import DatabaseReadOnlyError, DiskFullError, translate
from agent.store.models import ConflictStatus, OpState
from agent.store.salvage_audit import ChainCheck, salvage_audit
from agent.store.salvage_read import DamagedFile
from agent.store.salvage_rows import MODELS, upgrade, valid_row

log = logging.getLogger(__name__)
UNSENT = frozenset({OpState.PENDING, OpState.LEASED, OpState.PARKED, OpState.CONFLICT})
FINISHED = frozenset({OpState.DONE, OpState.CANCELLED})
SALVAGED = "database_salvaged"
# The profile's data keys (None entries ignored), read only when a salvage needs them, given the
# damaged file's settings rows (key -> stored value), where the keyring id naming them is kept.
KeySource = Callable[[Mapping[str, str]], Iterable[bytes | None]]
# The profile's audit key (None for an unkeyed trail), read only when a salvage needs it, given
# the same settings rows.
AuditKeySource = Callable[[Mapping[str, str]], bytes | None]


@dataclass(frozen=True)
class Counted:
    recovered: int = 0
    unreadable: int = 0


@dataclass(frozen=True)
class SalvageReport:
    """What came back from the damaged file, and what could not be read."""

    operations: Counted = Counted()  # unsent operations
    outcome_unknown: int = 0  # of those, how many may already have been sent (looked up first)
    overlays: Counted = Counted()
    conflicts: Counted = Counted()  # open conflicts
    audit_events: Counted = Counted()
    failed: str = ""  # why nothing could be salvaged, when nothing could

    @property
    def summary(self) -> str:
        if self.failed:
            return f"Nothing could be recovered from it ({self.failed})."
        parts = [
            _phrase(self.operations, "unsent change"),
            _phrase(self.conflicts, "open conflict"),
            _phrase(self.audit_events, "audit event"),
        ]
        text = "; ".join(parts) + "."
        if self.outcome_unknown:
            text += (
                f" {self.outcome_unknown} of the changes may already have reached Autotask; "
                "they are checked there before being sent again."
            )
        return text


def _phrase(c: Counted, noun: str) -> str:
    s = "" if c.recovered == 1 else "s"
    text = f"{c.recovered} {noun}{s} recovered"
    return text + (f", {c.unreadable} unreadable" if c.unreadable else "")


def _read(
    damaged: DamagedFile, table: str, opener: SealingCodec | None = None
) -> tuple[dict[int, dict[str, Any]], set[int]]:
    """Whole rows by rowid, and rowids known to exist whose rows are not whole."""
    if table not in damaged.tables():
        return {}, set()
    have = set(damaged.columns(table))
    cols = [f.column_name for f in MODELS[table]._meta.sorted_fields if f.column_name in have]
    read = damaged.read_table(table, cols)
    good: dict[int, dict[str, Any]] = {}
    bad = set(read.unreadable)
    for raw in read.rows:
        row = upgrade(table, dict(zip(cols, raw[1:], strict=True)))
        if valid_row(table, row, opener):
            good[int(raw[0])] = row
        else:
            bad.add(int(raw[0]))
    return good, bad


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    cols = ", ".join(f'"{c}"' for c in row)
    marks = ", ".join("?" * len(row))
    conn.execute(f'INSERT OR IGNORE INTO "{table}" ({cols}) VALUES ({marks})', tuple(row.values()))


class _Salvage:
    def __init__(
        self, damaged: DamagedFile, conn: sqlite3.Connection, opener: SealingCodec | None
    ) -> None:
        self.damaged, self.conn, self.opener = damaged, conn, opener
        self.finished: set[int] = set()
        # Readable operations already done or cancelled: copied too, as the history they are, so
        # their ids stay taken (a new operation never takes the id an old audit event names).
        self.history: dict[int, dict[str, Any]] = {}

    def operations(self) -> tuple[dict[int, dict[str, Any]], Counted, int]:
        rows, bad = _read(self.damaged, "outbox_op", self.opener)
        states: dict[int, str] = {}
        for index in ("outbox_op_state_priority_next_attempt_at", "outbox_op_state_id"):
            for state, rowid in self.damaged.index_keys(
                "outbox_op", index, "state", [s.value for s in OpState]
            ):
                states.setdefault(rowid, state)
        unsent = {i: r for i, r in rows.items() if r["state"] in UNSENT}
        self.history = {i: r for i, r in rows.items() if r["state"] in FINISHED}
        self.finished = {i for i, r in rows.items() if r["state"] in FINISHED} | {
            i for i, s in states.items() if s in FINISHED and i not in rows
        }
        lost = {i for i, s in states.items() if s in UNSENT} | {
            i for i in bad if states.get(i) not in FINISHED
        }
        lost -= set(rows)
        unknown = 0
        for row in unsent.values():
            if row["state"] == OpState.LEASED:  # it may be on its way, or there already
                row.update(state=OpState.PENDING.value, lease_owner=None, lease_expires_at=None)
                row["outcome_unknown"] = 1
            unknown += int(bool(row.get("outcome_unknown")))
        return unsent, Counted(len(unsent), len(lost)), unknown

    def _park(self, row: dict[str, Any], reason: str) -> None:
        # A plain payload: the next open seals it, bound to its row, with the rest.
        row.update(state=OpState.PARKED.value, reason=canonical_bytes(reason), next_attempt_at=0.0)

    def dependencies(self, ops: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        """Copy the waits between salvaged operations; one that waited for a change that did not
        come back (and is not known to be done) needs the technician's attention instead."""
        rows, _ = _read(self.damaged, "op_dependency", self.opener)
        kept: list[dict[str, Any]] = []
        known = ops | self.history
        creates = {r["temp_id"] for r in known.values() if r["kind"] == "create" and r["temp_id"]}
        for row in rows.values():
            op, on = row["op_id"], row["depends_on_id"]
            if op not in known:
                continue
            if on in known:
                kept.append(row)
            elif on not in self.finished and op in ops:
                self._park(ops[op], "it waited for a change lost with the damaged database")
        for row in ops.values():
            if row["state"] == OpState.PARKED:
                continue
            waits_for = [row["parent_temp_id"] if row["parent_id"] is None else None]
            if row["kind"] != "create" and row["target_id"] is None:
                waits_for.append(row["temp_id"])
            if any(temp and temp not in creates for temp in waits_for):
                self._park(row, "the record it belongs to was lost with the damaged database")
        return kept

    def conflicts(self, ops: dict[int, dict[str, Any]]) -> tuple[list[dict[str, Any]], Counted]:
        rows, bad = _read(self.damaged, "conflict", self.opener)
        open_ids = {
            rowid
            for status, rowid in self.damaged.index_keys(
                "conflict", "conflict_status", "status", [ConflictStatus.OPEN.value]
            )
        }
        kept: list[dict[str, Any]] = []
        with_conflict: set[int] = set()
        for row in rows.values():
            if row["status"] != ConflictStatus.OPEN:
                continue
            if row["op_id"] not in ops and row["op_id"] not in self.history:
                row["op_id"] = None
            else:
                with_conflict.add(row["op_id"])
            kept.append(row)
        for op_id, op in ops.items():  # waiting on a conflict that did not come back
            if op["state"] == OpState.CONFLICT and op_id not in with_conflict:
                self._park(op, "its conflict was lost with the damaged database; retry it")
        return kept, Counted(len(kept), len((open_ids | bad) - set(rows)))

    def overlays(self, ops: dict[int, dict[str, Any]]) -> Counted:
        rows, bad = _read(self.damaged, "overlay_value", self.opener)
        known = set(self.damaged.index_rowids("overlay_value", "overlay_value_op_id", "op_id"))
        kept = 0
        for row in rows.values():
            if row["op_id"] in ops:
                _insert(self.conn, "overlay_value", row)
                kept += 1
        return Counted(kept, len((known | bad) - set(rows)))

    def stopwatches(self) -> None:
        """Timers running or stopped and not yet logged: time not logged anywhere else."""
        rows, _ = _read(self.damaged, "stopwatch_run", self.opener)
        for row in rows.values():  # a second running one (a damaged row) is left out
            _insert(self.conn, "stopwatch_run", row)

    def settings(self) -> None:
        rows, _ = _read(self.damaged, "setting", self.opener)
        for row in rows.values():
            self.conn.execute(
                'INSERT OR REPLACE INTO "setting" ("key", "value") VALUES (?, ?)',
                (row["key"], row["value"]),
            )


def _salvage(
    damaged: DamagedFile,
    conn: sqlite3.Connection,
    now: float,
    opener: SealingCodec | None,
    chain: ChainCheck,
) -> SalvageReport:
    s = _Salvage(damaged, conn, opener)
    # The audit trail first: it is empty in the new file, so the salvaged events keep their place.
    trail = salvage_audit(damaged, conn, now, opener, chain)
    ops, op_counts, unknown = s.operations()
    waits = s.dependencies(ops)
    open_conflicts, conflicts = s.conflicts(ops)
    for table, rows in (
        ("outbox_op", sorted([*ops.values(), *s.history.values()], key=lambda r: int(r["id"]))),
        ("op_dependency", waits),
        ("conflict", open_conflicts),
    ):
        for row in rows:
            _insert(conn, table, row)
    overlays = s.overlays(ops)
    s.stopwatches()
    s.settings()
    return SalvageReport(
        operations=op_counts,
        outcome_unknown=unknown,
        overlays=overlays,
        conflicts=conflicts,
        audit_events=Counted(trail.recovered, trail.unreadable),
    )


def salvage(
    kept: Path,
    conn: sqlite3.Connection,
    *,
    now: float,
    reason: str,
    keys: KeySource | None = None,
    audit_key: AuditKeySource | None = None,
    kept_as: Path | None = None,
) -> SalvageReport:
    """Copy what can be read from `kept` into the new, migrated database on `conn`, in one
    transaction, and record it in the audit trail (its event, naming `kept_as` or else `kept`,
    commits with the rows: its presence marks the salvage complete). Never raises for a file
    beyond reading: the report says why nothing came back. `keys` gives the profile's data keys,
    when it can, so sealed values are checked before they are copied; `audit_key` the audit
    key, which checks the salvaged events and chains the new ones. `kept` is only read."""
    named = kept if kept_as is None else kept_as
    chain = ChainCheck(None)  # until the damaged file's settings name the key, if they can
    try:
        with (
            tempfile.TemporaryDirectory(prefix=".salvage-", dir=kept.parent) as scratch,
            DamagedFile(kept, Path(scratch)) as damaged,
        ):
            opener = _opener(keys, damaged)
            chain = _chain_check(audit_key, damaged)
            conn.execute("BEGIN IMMEDIATE")
            try:
                report = _salvage(damaged, conn, now, opener, chain)
                _record(conn, named, reason, report, now, chain)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
    except Exception as exc:  # any file beyond reading: the agent still starts, the file stays
        if isinstance(translate(exc, kept), (DiskFullError, DatabaseReadOnlyError)):
            raise  # a condition of this computer: the store puts the file back, nothing is lost
        log.exception("salvage of %s failed", kept)
        report = SalvageReport(failed=f"{type(exc).__name__}: {exc}")
        with conn:
            _record(conn, named, reason, report, now, chain)
    log.warning("salvaged from %s (kept as %s): %s", kept, named, report.summary)
    return report


def _opener(keys: KeySource | None, damaged: DamagedFile) -> SealingCodec | None:
    if keys is None:
        return None
    try:
        held = [k for k in keys(_settings_rows(damaged)) if k is not None]
    except Exception:  # no keyring, or a locked one: the values are copied unchecked
        log.warning("the data key could not be read; salvaged values are copied unchecked")
        return None
    return SealingCodec(held) if held else None


def _settings_rows(damaged: DamagedFile) -> dict[str, str]:
    rows, _ = _read(damaged, "setting")
    return {str(r["key"]): str(r["value"]) for r in rows.values()}


def _chain_check(audit_key: AuditKeySource | None, damaged: DamagedFile) -> ChainCheck:
    if audit_key is None:
        return ChainCheck(None)
    try:
        return ChainCheck(audit_key(_settings_rows(damaged)))
    except Exception:  # no keyring, or a locked one: the events are copied unchecked
        log.warning("the audit key could not be read; salvaged audit events are copied unchecked")
        return ChainCheck(None, checkable=False)


def _record(
    conn: sqlite3.Connection,
    kept: Path,
    reason: str,
    report: SalvageReport,
    now: float,
    chain: ChainCheck,
) -> None:
    detail: dict[str, Any] = {
        "kept_as": str(kept),
        "damage": reason,
        "summary": report.summary,
    }
    for name in ("operations", "overlays", "conflicts", "audit_events"):
        c: Counted = getattr(report, name)
        detail[name] = {"recovered": c.recovered, "unreadable": c.unreadable}
    detail["outcome_unknown"] = report.outcome_unknown
    if report.failed:
        detail["failed"] = report.failed
    audit.append_many([audit.Entry(SALVAGED, at=now, detail=detail)], conn, chain.keying)
