"""What the technician typed, and the count of it against the simulator's own records.

Records are grouped by an identity the technician would recognise (the ticket and the text of a
note or a time entry's summary), so two *identical* entries are two typed records of one
identity: the server must then hold exactly two. Within an identity the server's records are
paired with the typed ones by equal values first; what is left over is counted:

- lost: typed, not on the server, and not waiting in the outbox as parked or conflicting (work
  the technician can see with its reason is not lost);
- duplicates: more server records than typed;
- mismatched: a server record paired with a typed one whose values differ, or a ticket field
  that ended with neither the typed value nor the value it had before.

A capture the agent refused (an exception the technician saw) is never added: it was not typed
into the agent, and any server record of it then counts as a duplicate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.sync.merge import same

# entity -> (identity fields, value fields)
SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "TimeEntries": (("ticketID", "summaryNotes"), ("hoursWorked", "roleID")),
    "TicketNotes": (("ticketID", "description"), ("noteType", "publish")),
}


def _ident(entity: str, record: dict[str, Any]) -> tuple[Any, ...]:
    return (entity, *(record.get(f) for f in SHAPES[entity][0]))


def _values(entity: str, record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record.get(f) for f in SHAPES[entity][1])


@dataclass
class Typed:
    """The technician's accepted edits of one scenario."""

    creates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # (ticket id, field) -> (value before the first edit, last typed value)
    ticket_fields: dict[tuple[int, str], tuple[Any, Any]] = field(default_factory=dict)
    # text of a refused note or time entry -> the error the technician was shown
    refused: dict[str, str] = field(default_factory=dict)

    def create(self, entity: str, record: dict[str, Any]) -> None:
        self.creates.append((entity, dict(record)))

    def ticket(self, ticket_id: int, name: str, before: Any, value: Any) -> None:
        first = self.ticket_fields.get((ticket_id, name), (before, value))[0]
        self.ticket_fields[(ticket_id, name)] = (first, value)

    @property
    def count(self) -> int:
        return len(self.creates) + len(self.ticket_fields)


def excused_identities(parked: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Parked or conflicting creates (visible to the technician with their reason)."""
    out: Counter[tuple[Any, ...]] = Counter()
    for p in parked:
        if p["entity_type"] in SHAPES and p["kind"] == "create":
            out[_ident(p["entity_type"], p["fields"])] += 1
    return out


def count(
    typed: Typed, server: dict[str, dict[int, dict[str, Any]]], parked: list[dict[str, Any]]
) -> dict[str, Any]:
    """Compare the server's records with what was typed; returns the counts and examples."""
    wanted: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for entity, record in typed.creates:
        wanted.setdefault(_ident(entity, record), []).append(_values(entity, record))
    held: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for entity in SHAPES:
        for record in server.get(entity, {}).values():
            key = _ident(entity, record)
            if key in wanted or key[-1] in typed.refused:
                held.setdefault(key, []).append(_values(entity, record))
    excused = excused_identities(parked)
    lost: list[str] = []
    duplicates: list[str] = []
    mismatched: list[str] = []
    for key in sorted(set(wanted) | set(held), key=repr):
        want, have = list(wanted.get(key, [])), list(held.get(key, []))
        for values in list(want):
            match = next((h for h in have if all(map(same, h, values))), None)
            if match is not None:
                want.remove(values)
                have.remove(match)
        paired = min(len(want), len(have))
        mismatched += [f"{key}: server {have[i]!r}, typed {want[i]!r}" for i in range(paired)]
        missing = max(0, len(want) - len(have) - excused.get(key, 0))
        lost += [repr(key)] * missing
        duplicates += [repr(key)] * max(0, len(have) - len(want))
    for (tid, name), (before, value) in sorted(typed.ticket_fields.items()):
        got = server["Tickets"][tid].get(name)
        if same(got, value):
            continue
        if any(p["entity_type"] == "Tickets" and p["target_id"] == tid for p in parked):
            continue
        if same(got, before):
            lost.append(f"ticket {tid}.{name} still {got!r}, typed {value!r}")
        else:
            mismatched.append(f"ticket {tid}.{name}: server {got!r}, typed {value!r}")
    return {
        "typed": typed.count,
        "refused": len(typed.refused),
        "lost": len(lost),
        "duplicates": len(duplicates),
        "mismatched": len(mismatched),
        "parked": len(parked),
        "examples": {
            "lost": lost[:5],
            "duplicates": duplicates[:5],
            "mismatched": mismatched[:5],
            "parked": [p["reason"] for p in parked[:5]],
            "refused": sorted(set(typed.refused.values()))[:3],
        },
    }
