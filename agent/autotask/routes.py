"""Where each entity's calls go, including the child routes Autotask uses for some writes.

Ticket notes are written under their ticket and contacts under their company; the
`endpoint` of each route is the path with ids replaced by placeholders, which is how errors,
logs and per-endpoint limits name it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.autotask.wire import lookup

_ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@dataclass(frozen=True)
class Route:
    path: str
    endpoint: str


@dataclass(frozen=True)
class ChildRoute:
    """`TicketNotes` are written at `Tickets/{parentId}/Notes`; `parent_field` names the parent."""

    parent: str
    child: str
    parent_field: str


CHILD_ROUTES: dict[str, ChildRoute] = {
    "TicketNotes": ChildRoute("Tickets", "Notes", "ticketID"),
    "Contacts": ChildRoute("Companies", "Contacts", "companyID"),
    "TicketChecklistItems": ChildRoute("Tickets", "ChecklistItems", "ticketID"),
    "TicketCharges": ChildRoute("Tickets", "Charges", "ticketID"),
    "TicketAttachments": ChildRoute("Tickets", "Attachments", "parentID"),
    "ServiceCallTickets": ChildRoute("ServiceCalls", "Tickets", "serviceCallID"),
    "ServiceCallTicketResources": ChildRoute(
        "ServiceCallTickets", "Resources", "serviceCallTicketID"
    ),
}


def entity_name(entity: str) -> str:
    """Refuses anything that is not a bare entity name, so no caller can inject a path."""
    if not _ENTITY_NAME.match(entity):
        raise ValueError(f"not an Autotask entity name: {entity!r}")
    return entity


def item_route(entity: str, record_id: int, parent_id: int | None = None) -> Route:
    """One record: `Tickets/5`, or `Tickets/7/Notes/5` when a child is read under its parent."""
    child = CHILD_ROUTES.get(entity_name(entity))
    if child is not None and parent_id is not None:
        return Route(
            f"{child.parent}/{int(parent_id)}/{child.child}/{int(record_id)}",
            f"{child.parent}/{{parentId}}/{child.child}/{{id}}",
        )
    return Route(f"{entity}/{int(record_id)}", f"{entity}/{{id}}")


def collection_route(entity: str, parent_id: int | None = None) -> Route:
    """Where creates and updates go: `Tickets`, or `Tickets/7/Notes` for a child entity."""
    child = CHILD_ROUTES.get(entity_name(entity))
    if child is None:
        return Route(entity, entity)
    if parent_id is None:
        raise ValueError(f"writing {entity} needs the id of its {child.parent} record")
    return Route(
        f"{child.parent}/{int(parent_id)}/{child.child}",
        f"{child.parent}/{{parentId}}/{child.child}",
    )


def parent_id_of(entity: str, fields: Mapping[str, Any]) -> int | None:
    """The parent id a child record names in its own fields (`ticketID`, `companyID`)."""
    child = CHILD_ROUTES.get(entity_name(entity))
    if child is None:
        return None
    value = lookup(fields, child.parent_field)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def query_route(entity: str, *, count: bool = False) -> Route:
    suffix = "query/count" if count else "query"
    return Route(f"{entity_name(entity)}/{suffix}", f"{entity}/{suffix}")


def fields_route(entity: str) -> Route:
    path = f"{entity_name(entity)}/entityInformation/fields"
    return Route(path, path)
