"""Business rules per entity, checked on the merged record before a write is stored.

Each rule returns the API's error messages (empty when the record is acceptable) and may fill
server-computed fields (hoursWorked from start/end, hoursToBill, completedDate).
"""

from __future__ import annotations

from collections.abc import Callable

from agent.simulator.attachments import PARENTS, attachment_rule
from agent.simulator.schema import BY_ROUTE
from agent.simulator.tenant import Actor, Record, Tenant
from agent.simulator.values import parse_time

Rule = Callable[[Tenant, Record, Record | None, Actor], list[str]]

ASSIGN_BOTH = (
    "When assigning a Resource, you must assign both a assignedResourceID and "
    "assignedResourceRoleID."
)
HOURS_RANGE = "hoursWorked must be greater than 0 and no more than 24."
COMPLETE = 5  # the system status "Complete" has the same value in every tenant


def _required(route: str, rec: Record) -> list[str]:
    spec = BY_ROUTE[route.lower()]
    return [
        f"The field {f.name} is required for a {spec.type_name}."
        for f in spec.fields
        if f.required and (rec.get(f.name) is None or rec.get(f.name) == "")
    ]


def _picklists(tenant: Tenant, route: str, rec: Record) -> list[str]:
    problems = []
    for f in BY_ROUTE[route.lower()].fields:
        value = rec.get(f.name)
        if not f.picklist or f.read_only or value is None:
            continue
        entries = tenant.picklist(route, f.name)
        match = next((p for p in entries if p.value == value and p.is_active), None)
        if match is None:
            problems.append(f"The value {value} is not a valid {f.name} picklist value.")
        elif f.picklist_parent and match.parent not in (None, rec.get(f.picklist_parent)):
            problems.append(f"The {f.name} {value} does not belong to {f.picklist_parent}.")
    return problems


def _resource_role(tenant: Tenant, resource_id: int | None, role_id: int | None) -> list[str]:
    if resource_id is None:
        return []
    resource = tenant.get("Resources", resource_id)
    if resource is None or not resource.get("isActive"):
        return [f"The resource {resource_id} does not exist or is inactive."]
    if role_id is not None and role_id not in tenant.roles_of(resource_id):
        return [f"The role {role_id} is not one of the roles of resource {resource_id}."]
    return []


def _belongs(tenant: Tenant, rec: Record, field: str, route: str, name: str) -> list[str]:
    """A reference to a record that must exist and belong to the ticket's company."""
    record_id = rec.get(field)
    if record_id is None:
        return []
    found = tenant.get(route, record_id)
    if found is None:
        return [f"The {name} {record_id} named in {field} does not exist."]
    company = rec.get("companyID")
    if found.get("companyID") != company:
        owner = "no company" if company is None else f"company {company}"
        return [f"The {name} {record_id} does not belong to {owner}."]
    return []


def ticket_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    problems = _required("Tickets", rec) + _picklists(tenant, "Tickets", rec)
    company = rec.get("companyID")
    if company is not None and tenant.get("Companies", company) is None:
        problems.append(f"The company {company} does not exist.")
    problems += _belongs(tenant, rec, "contactID", "Contacts", "contact")
    problems += _belongs(tenant, rec, "contractID", "Contracts", "contract")
    problems += _belongs(tenant, rec, "companyLocationID", "CompanyLocations", "company location")
    code = rec.get("billingCodeID")
    if code is not None and not (tenant.get("BillingCodes", code) or {}).get("isActive"):
        problems.append(
            f"The billing code {code} named in billingCodeID does not exist or is inactive."
        )
    resource, role = rec.get("assignedResourceID"), rec.get("assignedResourceRoleID")
    if (resource is None) != (role is None):
        problems.append(ASSIGN_BOTH)
    else:
        problems += _resource_role(tenant, resource, role)
    if not problems and rec.get("status") == COMPLETE:
        if before is None or before.get("status") != COMPLETE:
            rec["completedDate"] = tenant.now_text()
    elif not problems:
        rec["completedDate"] = None
    return problems


def note_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    problems = _required("TicketNotes", rec) + _picklists(tenant, "TicketNotes", rec)
    ticket = rec.get("ticketID")
    if ticket is not None and tenant.get("Tickets", ticket) is None:
        problems.append(f"The ticket {ticket} does not exist.")
    return problems


def time_entry_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    if rec.get("resourceID") is None and actor.impersonator is not None:
        rec["resourceID"] = actor.resource_id  # an impersonated write logs the time as that user
    problems = _required("TimeEntries", rec) + _picklists(tenant, "TimeEntries", rec)
    ticket, task = rec.get("ticketID"), rec.get("taskID")
    if ticket is None and task is None:
        problems.append("A TimeEntry needs a ticketID or a taskID.")
    elif ticket is not None and tenant.get("Tickets", ticket) is None:
        problems.append(f"The ticket {ticket} does not exist.")
    elif ticket is None:
        problems.append(f"The task {task} does not exist.")
    problems += _resource_role(tenant, rec.get("resourceID"), rec.get("roleID"))
    if before is not None and rec.get("hoursWorked") == before.get("hoursWorked"):
        moved = any(rec.get(k) != before.get(k) for k in ("startDateTime", "endDateTime"))
        if moved:
            rec["hoursWorked"] = None  # new start/end without new hours: hours follow the times
    problems += _hours(rec)
    if not problems:
        rec["hoursToBill"] = rec["hoursWorked"]
        rec["timeEntryType"] = 2 if ticket is not None else 6
    return problems


def _hours(rec: Record) -> list[str]:
    start, end = rec.get("startDateTime"), rec.get("endDateTime")
    if (start is None) != (end is None):
        return ["startDateTime and endDateTime must be given together."]
    if start is not None and end is not None:
        seconds = (parse_time(end) - parse_time(start)).total_seconds()
        if seconds <= 0:
            return ["endDateTime must be later than startDateTime."]
        if rec.get("hoursWorked") is None:
            rec["hoursWorked"] = round(seconds / 3600, 4)
    hours = rec.get("hoursWorked")
    if hours is None:
        return ["A TimeEntry needs startDateTime and endDateTime or hoursWorked."]
    if not 0 < hours <= 24:
        return [HOURS_RANGE]
    return []


def company_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    problems = _required("Companies", rec) + _picklists(tenant, "Companies", rec)
    owner = rec.get("ownerResourceID")
    if owner is not None and tenant.get("Resources", owner) is None:
        problems.append(f"The resource {owner} does not exist.")
    return problems


def contact_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    problems = _required("Contacts", rec)
    if rec.get("isActive") not in (None, 0, 1):
        problems.append("isActive must be 0 or 1.")
    company = rec.get("companyID")
    if company is not None and tenant.get("Companies", company) is None:
        problems.append(f"The company {company} does not exist.")
    return problems


def resource_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    return _required("Resources", rec)


def _ends_after_start(rec: Record) -> list[str]:
    start, end = rec.get("startDateTime"), rec.get("endDateTime")
    if start is not None and end is not None and parse_time(end) <= parse_time(start):
        return ["endDateTime must be later than startDateTime."]
    return []


def _exists(tenant: Tenant, route: str, record_id: int | None, name: str) -> list[str]:
    if record_id is not None and tenant.get(route, record_id) is None:
        return [f"The {name} {record_id} does not exist."]
    return []


def service_call_rule(
    tenant: Tenant, rec: Record, before: Record | None, actor: Actor
) -> list[str]:
    problems = _required("ServiceCalls", rec) + _picklists(tenant, "ServiceCalls", rec)
    problems += _exists(tenant, "Companies", rec.get("companyID"), "company")
    problems += _belongs(tenant, rec, "companyLocationID", "CompanyLocations", "company location")
    problems += _ends_after_start(rec)
    if not problems and rec.get("startDateTime") and rec.get("endDateTime"):
        span = parse_time(rec["endDateTime"]) - parse_time(rec["startDateTime"])
        seconds = span.total_seconds()
        rec["duration"] = round(seconds / 3600, 4)
    return problems


def service_call_ticket_rule(
    tenant: Tenant, rec: Record, before: Record | None, actor: Actor
) -> list[str]:
    problems = _required("ServiceCallTickets", rec)
    call_id, ticket_id = rec.get("serviceCallID"), rec.get("ticketID")
    problems += _exists(tenant, "ServiceCalls", call_id, "service call")
    problems += _exists(tenant, "Tickets", ticket_id, "ticket")
    if problems:
        return problems
    # Both are named and exist: the checks above passed.
    call = tenant.records["ServiceCalls"][rec["serviceCallID"]]
    ticket = tenant.records["Tickets"][rec["ticketID"]]
    if call["companyID"] != ticket["companyID"]:
        return [
            f"The ticket {ticket_id} belongs to company {ticket['companyID']}, not to the "
            f"service call's company {call['companyID']}."
        ]
    linked = any(
        link["serviceCallID"] == call_id and link["ticketID"] == ticket_id
        for link in tenant.records["ServiceCallTickets"].values()
        if link["id"] != rec.get("id")
    )
    if linked:
        return [f"The ticket {ticket_id} is already on the service call {call_id}."]
    return []


def dispatched_resource_rule(
    tenant: Tenant, rec: Record, before: Record | None, actor: Actor
) -> list[str]:
    problems = _required("ServiceCallTicketResources", rec)
    call_ticket = rec.get("serviceCallTicketID")
    problems += _exists(tenant, "ServiceCallTickets", call_ticket, "service call ticket")
    return problems + _resource_role(tenant, rec.get("resourceID"), None)


def appointment_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    problems = _required("Appointments", rec) + _ends_after_start(rec)
    return problems + _resource_role(tenant, rec.get("resourceID"), None)


def checklist_item_rule(
    tenant: Tenant, rec: Record, before: Record | None, actor: Actor
) -> list[str]:
    problems = _required("TicketChecklistItems", rec)
    problems += _exists(tenant, "Tickets", rec.get("ticketID"), "ticket")
    if problems:
        return problems
    was_done = before is not None and bool(before.get("isCompleted"))
    if rec.get("isCompleted") and not was_done:
        rec["completedDateTime"] = tenant.now_text()
        rec["completedByResourceID"] = actor.resource_id
    elif not rec.get("isCompleted"):
        rec["completedDateTime"] = rec["completedByResourceID"] = None
    return []


def charge_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    problems = _required("TicketCharges", rec) + _picklists(tenant, "TicketCharges", rec)
    problems += _exists(tenant, "Tickets", rec.get("ticketID"), "ticket")
    problems += _exists(tenant, "Products", rec.get("productID"), "product")
    quantity = rec.get("unitQuantity")
    if quantity is not None and quantity <= 0:
        problems.append("unitQuantity must be greater than 0.")
    if not problems:
        quantity = quantity or 0.0
        rec["extendedCost"] = round(quantity * (rec.get("unitCost") or 0.0), 4)
        rec["billableAmount"] = round(quantity * (rec.get("unitPrice") or 0.0), 4)
        rec["internalCurrencyUnitPrice"] = rec.get("unitPrice")
        rec["internalCurrencyBillableAmount"] = rec["billableAmount"]
        if before is None or before.get("status") != rec.get("status"):
            rec["statusLastModifiedBy"] = actor.resource_id
            rec["statusLastModifiedDate"] = tenant.now_text()
    return problems


def generic_rule(route: str) -> Rule:
    """Required fields and picklist values: what every entity of the table checks."""

    def rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
        return _required(route, rec) + _picklists(tenant, route, rec)

    return rule


RULES: dict[str, Rule] = {
    "Tickets": ticket_rule,
    "TicketNotes": note_rule,
    "TimeEntries": time_entry_rule,
    "Companies": company_rule,
    "Contacts": contact_rule,
    "Resources": resource_rule,
    "ServiceCalls": service_call_rule,
    "ServiceCallTickets": service_call_ticket_rule,
    "ServiceCallTicketResources": dispatched_resource_rule,
    "Appointments": appointment_rule,
    "TicketChecklistItems": checklist_item_rule,
    "TicketCharges": charge_rule,
    **{route: attachment_rule(route) for route in PARENTS},
}


def rule_for(route: str) -> Rule:
    """The business rule of an entity (its required fields and picklists at least)."""
    return RULES.get(route) or generic_rule(route)
