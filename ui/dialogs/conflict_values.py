"""What a conflict's values mean to a person: picklist labels, names, dates, and who changed it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ui.models.labels import entity_label, field_label
from ui.models.look import local_text, parse_iso
from ui.models.people import technician_id
from ui.service import AgentService

PEOPLE_FIELDS = {"assignedResourceID", "resourceID"}
TEXT_FIELDS = {"title", "description", "summaryNotes", "internalNotes"}


@dataclass
class ConflictContext:
    """Everything the dialog needs to word a conflict, loaded before it opens."""

    picklists: dict[str, dict[str, dict[int, str]]] = field(default_factory=dict)
    people: dict[int, str] = field(default_factory=dict)
    changed_by: dict[tuple[str, int], str] = field(default_factory=dict)

    def label(self, entity_type: str, name: str, value: Any) -> str:
        if value is None or value == "":
            return "(empty)"
        if name in PEOPLE_FIELDS and isinstance(value, int):
            return self.people.get(value, f"Resource {value}")
        options = self.picklists.get(entity_type, {}).get(name)
        if options is not None and isinstance(value, int) and not isinstance(value, bool):
            return options.get(value, f"{value} (not in this tenant's list)")
        if isinstance(value, str) and name.endswith(("DateTime", "Date", "Worked")):
            when = parse_iso(value)
            if when is not None:
                return local_text(when)
        if isinstance(value, dict):
            return "\n".join(
                f"{field_label(k)}: {self.label(entity_type, k, v)}" for k, v in value.items()
            )
        return str(value)

    def options(self, entity_type: str, name: str) -> dict[int, str] | None:
        if name in PEOPLE_FIELDS:
            return dict(self.people)
        return self.picklists.get(entity_type, {}).get(name)

    def who(self, entity_type: str, entity_id: int) -> str:
        return self.changed_by.get((entity_type, entity_id), "someone in Autotask")


def record_title(c: Any) -> str:
    """ "Ticket T20240101.0001: Printer offline": the record as the rest of the window names it
    (a ticket by its number, not its database id)."""
    record = getattr(c, "record", "") or f"{entity_label(c.entity_type)} #{c.entity_id}"
    return f"{record}: {c.label}" if c.label else record


async def load_context(service: AgentService, conflicts: Iterable[Any]) -> ConflictContext:
    conflicts = list(conflicts)
    agent = service.agent
    kinds = sorted({c.entity_type for c in conflicts})
    lists = await asyncio.gather(*(agent.picklists(k) for k in kinds))
    resources = await agent.resources()
    context = ConflictContext(
        picklists=dict(zip(kinds, lists, strict=True)),
        people={rid: name for rid, (name, _) in resources.items()},
    )
    me = technician_id(service)
    # Who Autotask named as the last to change the record when the conflict was found: the
    # same rule for every conflict (the record cached now may name the technician, whose other
    # field was sent since). "someone in Autotask" only where the server named no one else.
    for c in conflicts:
        rid = getattr(c, "changed_by", None)
        if isinstance(rid, int) and rid != me:
            name = context.people.get(rid) or f"resource {rid}"
            context.changed_by[(c.entity_type, c.entity_id)] = name
    return context
