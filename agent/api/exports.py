"""Writing the audit trail and the queue to CSV or JSON files (the window's and CLI's exports).

They hold decrypted text, so each is written readable by the user only (`private_text_file`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from agent.api.types import QueueItem
from agent.api.views import audit_entries, queue_item
from agent.api.words import Words
from agent.queue.operation import OpQuery
from agent.queue.outbox import Outbox
from agent.security.permissions import private_text_file
from agent.store import audit
from agent.store.models import AuditEvent, OpState

AUDIT_COLUMNS = [
    "id",
    "at",
    "action",
    "entity_type",
    "entity_id",
    "op_id",
    "detail",
    "prev_hash",
    "hash",
]


def write_audit(path: str | Path, fmt: Literal["csv", "json"] = "csv", **filters: Any) -> int:
    """The audit events in order, with their hashes (so the export itself can be verified):
    every one, or those `filters` choose (the filters of `views.audit_entries`, as the window's
    Audit page shows them). CSV times are ISO 8601 in local time; JSON keeps Unix seconds."""
    chosen = {k: v for k, v in filters.items() if v not in (None, "")}
    wanted = {e.id for e in audit_entries(**chosen, limit=2**62)} if chosen else None
    rows: list[dict[str, Any]] = [
        {c: getattr(e, c) for c in AUDIT_COLUMNS} | {"detail": audit.detail_of(e)}
        for e in AuditEvent.select().order_by(AuditEvent.id).iterator()
        if wanted is None or e.id in wanted
    ]
    if fmt == "json":
        with private_text_file(path) as fh:
            fh.write(json.dumps(rows, indent=1, default=str))
    else:
        write_csv(
            path,
            AUDIT_COLUMNS,
            ({**r, "at": local_iso(r["at"]), "detail": _detail_text(r["detail"])} for r in rows),
        )
    return len(rows)


def write_csv(path: str | Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    """`rows` as CSV under a header of `columns`, readable by the user only."""
    with private_text_file(path, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def local_iso(seconds: float | None) -> str:
    """Unix seconds as ISO 8601 in this computer's time zone, with its offset."""
    if seconds is None or seconds == 0:
        return ""
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="microseconds")


def _detail_text(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)


QUEUE_COLUMNS = [
    "id",
    "state",
    "priority",
    "entity_type",
    "entity_key",
    "kind",
    "description",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "outcome_unknown",
]
"""The columns of every queue export, whichever operations it holds (the window's and CLI's)."""


def queue_row(item: QueueItem) -> dict[str, Any]:
    """An operation as the Queue shows it, as a CSV row: times in ISO 8601, local time."""
    row = {c: getattr(item, c) for c in QUEUE_COLUMNS}
    for name in ("next_attempt_at", "created_at"):
        row[name] = local_iso(row[name])
    row["last_error"] = row["last_error"] or ""
    return row


def write_queue(path: str | Path, outbox: Outbox, states: frozenset[OpState] | None = None) -> int:
    """The operations in `states` (every one when None) in id order, under `QUEUE_COLUMNS`."""
    count = 0
    words = Words()
    with private_text_file(path, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=QUEUE_COLUMNS)
        writer.writeheader()
        after: int | None = None
        while True:
            page = outbox.list_ops(OpQuery(states=states, after_id=after, limit=1000))
            for op in page.items:
                writer.writerow(queue_row(queue_item(op, words)))
                count += 1
            if page.next_after_id is None:
                return count
            after = page.next_after_id
