"""Deleting a record, and the records that live only inside it.

A service call holds its ticket and task links, and each link its dispatched resources; none
of them means anything without its parent, and the Swagger offers no way to delete most of them
on their own. Deleting the parent deletes them too, as deleting a service call in Autotask's
own screens does.
"""

from __future__ import annotations

from agent.simulator.schema import BY_ROUTE
from agent.simulator.tenant import Tenant
from agent.simulator.writes import WriteError

# Entity -> the (child entity, field naming the parent) deleted along with one of its records.
CASCADE: dict[str, tuple[tuple[str, str], ...]] = {
    "ServiceCalls": (
        ("ServiceCallTickets", "serviceCallID"),
        ("ServiceCallTasks", "serviceCallID"),
    ),
    "ServiceCallTickets": (("ServiceCallTicketResources", "serviceCallTicketID"),),
    "ServiceCallTasks": (("ServiceCallTaskResources", "serviceCallTaskID"),),
}


def delete(tenant: Tenant, route: str, record_id: int, parent: tuple[str, int] | None) -> int:
    """Delete one record (where the Swagger has DELETE) with the records that live inside it,
    and return its id, or raise `WriteError`."""
    spec = BY_ROUTE[route.lower()]
    table = tenant.records[spec.route]
    existing = table.get(record_id)
    if existing is None or (parent is not None and existing.get(parent[0]) != parent[1]):
        raise WriteError(f"Unable to find the {spec.type_name} with id {record_id}.")
    _remove(tenant, spec.route, record_id)
    return record_id


def _remove(tenant: Tenant, route: str, record_id: int) -> None:
    del tenant.records[route][record_id]
    if route.endswith("Attachments"):
        tenant.records["AttachmentInfo"].pop(record_id, None)
    for child, field in CASCADE.get(route, ()):
        inside = [i for i, r in tenant.records[child].items() if r.get(field) == record_id]
        for child_id in inside:
            _remove(tenant, child, child_id)
