"""What the facade and the `status` command say about a damaged database and its salvage.

The notice of the run that met the damage (`Profile.recovery`) says it all; later runs find the
salvage in the audit trail (its `database_salvaged` event), so `status` still tells it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.store import audit
from agent.store.connection import RecoveryNotice, Store
from agent.store.models import AuditEvent
from agent.store.salvage import SALVAGED


@dataclass(frozen=True)
class DatabaseRecovery:
    kept_as: str  # where the damaged file was kept, unchanged
    reason: str
    summary: str  # e.g. "41 unsent changes recovered, 2 unreadable; ..."
    message: str  # the whole story, for a banner or a log
    operations_recovered: int = 0
    operations_unreadable: int = 0
    at: float | None = None  # when it happened (known from the audit trail)


def from_notice(notice: RecoveryNotice | None) -> DatabaseRecovery | None:
    if notice is None:
        return None
    report = notice.salvage
    return DatabaseRecovery(
        kept_as=str(notice.moved_to),
        reason=notice.reason,
        summary=report.summary if report is not None else "",
        message=notice.message,
        operations_recovered=report.operations.recovered if report is not None else 0,
        operations_unreadable=report.operations.unreadable if report is not None else 0,
    )


def last_salvage(store: Store) -> DatabaseRecovery | None:
    """The most recent salvage recorded in the audit trail (None when there was none)."""

    def run() -> AuditEvent | None:
        query = AuditEvent.select().where(AuditEvent.action == SALVAGED)
        event: AuditEvent | None = query.order_by(AuditEvent.id.desc()).first()
        return event

    event = store.read(run)
    if event is None:
        return None
    detail = audit.detail_of(event)
    ops = detail.get("operations", {})
    summary = str(detail.get("summary", ""))
    return DatabaseRecovery(
        kept_as=str(detail.get("kept_as", "")),
        reason=str(detail.get("damage", detail.get("reason", ""))),
        summary=summary,
        message=f"A damaged database was kept as {detail.get('kept_as')}. {summary}",
        operations_recovered=int(ops.get("recovered", 0)),
        operations_unreadable=int(ops.get("unreadable", 0)),
        at=float(event.at),
    )
