"""Writing the audit trail and the queue to CSV or JSON files (the window's and CLI's exports).

They hold decrypted text, so each is written readable by the user only (`private_text_file`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from agent.api.views import describe, plain_error
from agent.queue.operation import OpQuery
from agent.queue.outbox import Outbox
from agent.security.permissions import private_text_file
from agent.store import audit
from agent.store.models import AuditEvent

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


def write_audit(path: str | Path, fmt: Literal["csv", "json"] = "csv") -> int:
    """Every audit event in order, with its hashes (so the export itself can be verified)."""
    rows: list[dict[str, Any]] = [
        {c: getattr(e, c) for c in AUDIT_COLUMNS} | {"detail": audit.detail_of(e)}
        for e in AuditEvent.select().order_by(AuditEvent.id).iterator()
    ]
    if fmt == "json":
        with private_text_file(path) as fh:
            fh.write(json.dumps(rows, indent=1, default=str))
    else:
        write_csv(
            path,
            AUDIT_COLUMNS,
            ({**r, "detail": _detail_text(r["detail"])} for r in rows),
        )
    return len(rows)


def write_csv(path: str | Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    """`rows` as CSV under a header of `columns`, readable by the user only."""
    with private_text_file(path, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _detail_text(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)


def write_queue(path: str | Path, outbox: Outbox) -> int:
    columns = [
        "id",
        "state",
        "priority",
        "kind",
        "entity_type",
        "entity",
        "description",
        "attempts",
        "next_attempt_at",
        "error",
        "created_at",
    ]
    count = 0
    with private_text_file(path, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        after: int | None = None
        while True:
            page = outbox.list_ops(OpQuery(after_id=after, limit=1000))
            for op in page.items:
                writer.writerow(
                    [
                        op.id,
                        op.state.value,
                        op.priority.name.lower(),
                        op.kind.value,
                        op.entity_type,
                        op.entity_key,
                        describe(op),
                        op.attempts,
                        op.next_attempt_at,
                        plain_error(op) or "",
                        op.created_at,
                    ]
                )
                count += 1
            if page.next_after_id is None:
                return count
            after = page.next_after_id
