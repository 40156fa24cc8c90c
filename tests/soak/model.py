"""The independent model of a soak: what the server must hold after every operation is applied
once (or parked), kept apart from the agent's own bookkeeping, and the checks against it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.sync.merge import same


@dataclass
class SoakModel:
    # (ticket id, field) -> value the server must end with
    ticket_fields: dict[tuple[int, str], Any] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)  # unique note texts created
    entries: dict[str, float] = field(default_factory=dict)  # summary tag -> hours
    deleted_entries: set[str] = field(default_factory=set)
    held: dict[tuple[int, str], set[Any]] = field(default_factory=dict)  # values a field has had
    ops: int = 0

    def check(
        self,
        server: dict[str, dict[int, dict[str, Any]]],
        parked: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Compare the server's final records with the model; parked work is excused."""
        excused_fields = {
            (p["target_id"], f)
            for p in parked
            if p["entity_type"] == "Tickets"
            for f in p["fields"]
        }
        excused_tags = {
            str(p["fields"].get("summaryNotes") or p["fields"].get("description")) for p in parked
        }
        mismatched: list[str] = []
        for (tid, name), want in sorted(self.ticket_fields.items()):
            got = server["Tickets"][tid].get(name)
            if not same(got, want) and (tid, name) not in excused_fields:
                mismatched.append(f"ticket {tid}.{name}: server {got!r}, expected {want!r}")
        note_counts: dict[str, int] = {}
        for n in server["TicketNotes"].values():
            text = str(n.get("description"))
            if text in self.notes:
                note_counts[text] = note_counts.get(text, 0) + 1
        entry_rows: dict[str, list[dict[str, Any]]] = {}
        for e in server["TimeEntries"].values():
            tag = str(e.get("summaryNotes"))
            if tag in self.entries or tag in self.deleted_entries:
                entry_rows.setdefault(tag, []).append(e)
        lost = [t for t in self.notes if note_counts.get(t, 0) == 0 and t not in excused_tags]
        lost += [t for t in self.entries if not entry_rows.get(t) and t not in excused_tags]
        duplicates = [t for t, c in note_counts.items() if c > 1]
        duplicates += [t for t, rows in entry_rows.items() if len(rows) > 1]
        for tag, hours in self.entries.items():
            rows = entry_rows.get(tag, [])
            if (
                len(rows) == 1
                and not same(rows[0].get("hoursWorked"), hours)
                and tag not in excused_tags
            ):
                mismatched.append(
                    f"time entry {tag}: hours {rows[0].get('hoursWorked')}, expected {hours}"
                )
        for tag in self.deleted_entries:
            if entry_rows.get(tag) and tag not in excused_tags:
                mismatched.append(f"time entry {tag} should have been deleted")
        return {
            "ops": self.ops,
            "lost": len(lost),
            "duplicates": len(duplicates),
            "mismatched": len(mismatched),
            "parked": len(parked),
            "examples": {
                "lost": lost[:5],
                "duplicates": duplicates[:5],
                "mismatched": mismatched[:5],
                "parked": [p.get("reason") for p in parked[:5]],
            },
        }
