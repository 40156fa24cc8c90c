"""What a soak's visit edits must leave on the server, kept apart from the agent's bookkeeping,
and the count of it against the simulator's own records: checklist items ticked and unticked,
service calls marked complete, parts used (created, changed, deleted), attached files and time
entries made from the stopwatch.

Each kind is found on the server the way the technician would recognise it: an item or a call by
its id (its last typed state), a part by its unique name, a file by its unique title, a timed
entry by its unique summary. Counted per identity:

- lost: typed, not on the server (or not in the typed state), and not parked or in conflict;
- duplicates: more than one server record of one typed part, file or timed entry;
- mismatched: one record, but with other values than typed (quantity, parent, size, duration),
  or a part deleted by the technician still on the server.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.sync.merge import normalise, same

CHECKLIST, CALLS, CHARGES = "TicketChecklistItems", "ServiceCalls", "TicketCharges"
FILES, TIME = "TicketAttachments", "TimeEntries"


def _instant(value: Any) -> float | None:
    at = normalise(value)
    return float(at) if isinstance(at, int | float) else None


@dataclass
class VisitTruth:
    checklist: dict[int, bool] = field(default_factory=dict)  # item id -> last typed state
    calls: dict[int, int] = field(default_factory=dict)  # call id -> last typed isComplete
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> ticket, quantity
    deleted_charges: set[str] = field(default_factory=set)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # title -> parent, size
    timed: dict[str, dict[str, Any]] = field(default_factory=dict)  # summary -> ticket, seconds
    kinds: Counter[str] = field(default_factory=Counter)  # edits typed, by kind

    def typed(self, kind: str) -> None:
        self.kinds[kind] += 1

    def charge_deleted(self, name: str) -> None:
        self.charges.pop(name, None)
        self.deleted_charges.add(name)

    def _excused(
        self, server: dict[str, dict[int, dict[str, Any]]], parked: list[dict[str, Any]]
    ) -> set[tuple[str, Any]]:
        """Work the technician sees parked or in conflict, with its reason: not lost."""
        out: set[tuple[str, Any]] = set()
        for p in parked:
            entity, fields, target = p["entity_type"], p["fields"], p["target_id"]
            if entity in (CHECKLIST, CALLS):
                out.add((entity, target))
            elif entity == CHARGES:
                name = fields.get("name") or server.get(CHARGES, {}).get(target, {}).get("name")
                out.add((entity, name))
            elif entity == FILES:
                out.add((entity, fields.get("title")))
            elif entity == TIME:
                out.add((entity, fields.get("summaryNotes")))
        return out

    def check(
        self, server: dict[str, dict[int, dict[str, Any]]], parked: list[dict[str, Any]]
    ) -> dict[str, Any]:
        excused = self._excused(server, parked)
        lost: list[str] = []
        duplicates: list[str] = []
        mismatched: list[str] = []
        for entity, typed, name in (
            (CHECKLIST, self.checklist, "isCompleted"),
            (CALLS, self.calls, "isComplete"),
        ):
            for record_id, want in sorted(typed.items()):
                got = server.get(entity, {}).get(record_id, {}).get(name)
                if not same(got, want) and (entity, record_id) not in excused:
                    lost.append(f"{entity} {record_id}.{name}: server {got!r}, typed {want!r}")
        by_name = _group(server.get(CHARGES, {}), "name")
        for part, want in sorted(self.charges.items()):
            rows = by_name.get(part, [])
            self._one(CHARGES, part, rows, excused, lost, duplicates)
            if (
                len(rows) == 1
                and _differs(rows[0], want, ("ticketID", "unitQuantity"))
                and (CHARGES, part) not in excused
            ):
                mismatched.append(f"part {part}: server {rows[0]!r}, typed {want!r}")
        for part in sorted(self.deleted_charges):
            if by_name.get(part) and (CHARGES, part) not in excused:
                mismatched.append(f"part {part} should have been deleted")
        by_title = _group(server.get(FILES, {}), "title")
        for title, want in sorted(self.files.items()):
            rows = by_title.get(title, [])
            self._one(FILES, title, rows, excused, lost, duplicates)
            if len(rows) == 1 and _differs(rows[0], want, ("parentID", "fileSize")):
                mismatched.append(f"file {title}: server {rows[0]!r}, typed {want!r}")
        by_summary = _group(server.get(TIME, {}), "summaryNotes")
        for summary, want in sorted(self.timed.items()):
            rows = by_summary.get(summary, [])
            self._one(TIME, summary, rows, excused, lost, duplicates)
            if len(rows) == 1:
                start = _instant(rows[0].get("startDateTime"))
                end = _instant(rows[0].get("endDateTime"))
                seconds = None if start is None or end is None else end - start
                if not same(rows[0].get("ticketID"), want["ticketID"]) or seconds != float(
                    want["seconds"]
                ):
                    mismatched.append(f"timed entry {summary}: {seconds} s, typed {want!r}")
        return {
            "typed": dict(sorted(self.kinds.items())),
            "lost": len(lost),
            "duplicates": len(duplicates),
            "mismatched": len(mismatched),
            "examples": {
                "lost": lost[:5],
                "duplicates": duplicates[:5],
                "mismatched": mismatched[:5],
            },
        }

    @staticmethod
    def _one(
        entity: str,
        key: str,
        rows: list[dict[str, Any]],
        excused: set[tuple[str, Any]],
        lost: list[str],
        duplicates: list[str],
    ) -> None:
        if not rows and (entity, key) not in excused:
            lost.append(f"{entity} {key!r}")
        if len(rows) > 1:
            duplicates.append(f"{entity} {key!r} x{len(rows)}")


def _differs(record: dict[str, Any], want: dict[str, Any], names: tuple[str, ...]) -> bool:
    return not all(same(record.get(name), want[name]) for name in names)


def _group(records: dict[int, dict[str, Any]], name: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in records.values():
        out.setdefault(str(record.get(name)), []).append(record)
    return out


def combined(base: dict[str, Any], visits: dict[str, Any]) -> dict[str, Any]:
    """A soak's result with its visit edits counted in (kept apart under `visits` too)."""
    out = dict(base)
    for key in ("lost", "duplicates", "mismatched"):
        out[key] = int(base[key]) + int(visits[key])
    out["visits"] = visits
    return out
