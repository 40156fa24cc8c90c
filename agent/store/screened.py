"""The tally of records from Autotask that the client's screening skipped or kept corrected
(an unreadable field left out, a change marker clamped), and of picklist values left out.

Run inside store reads and writes. Each row counts one kind of fault (entity, field, what was
wrong, from `agent.autotask.screening`'s fixed words), so the tally says what a server sent
wrongly and how often, without a single value of the records (those are customer data).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from agent.store.models import ScreenedRecord


class Fault(Protocol):
    @property
    def entity(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def problem(self) -> str: ...
    @property
    def skipped(self) -> bool: ...


@dataclass(frozen=True)
class ScreenedSummary:
    """Records skipped and records kept (an unreadable field left out, or the change marker
    clamped; `by_reason` tells which), in all; the latest fault."""

    skipped: int = 0
    clamped: int = 0
    last_reason: str | None = None  # "Tickets.id: beyond 64 bits"
    last_at: float | None = None
    by_reason: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "skipped": self.skipped,
            "clamped": self.clamped,
            "last_reason": self.last_reason,
            "last_at": self.last_at,
            "by_reason": dict(self.by_reason),
        }


def record(faults: Iterable[Fault], at: float) -> None:
    """Count each fault (in the caller's write transaction)."""
    for f in faults:
        (
            ScreenedRecord.insert(
                entity_type=f.entity,
                field=f.field,
                problem=f.problem,
                skipped=f.skipped,
                count=1,
                last_at=at,
            )
            .on_conflict(
                conflict_target=[
                    ScreenedRecord.entity_type,
                    ScreenedRecord.field,
                    ScreenedRecord.problem,
                ],
                update={ScreenedRecord.count: ScreenedRecord.count + 1, ScreenedRecord.last_at: at},
            )
            .execute()
        )


def summary() -> ScreenedSummary:
    rows = list(ScreenedRecord.select().order_by(ScreenedRecord.last_at.desc()))
    if not rows:
        return ScreenedSummary()
    latest = rows[0]
    return ScreenedSummary(
        skipped=sum(r.count for r in rows if r.skipped),
        clamped=sum(r.count for r in rows if not r.skipped),
        last_reason=f"{latest.entity_type}.{latest.field}: {latest.problem}",
        last_at=latest.last_at,
        by_reason={f"{r.entity_type}.{r.field}: {r.problem}": r.count for r in rows},
    )
