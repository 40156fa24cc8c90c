"""The tenant's catalogue: picklists (tenant-specific values), UDFs, roles and resources."""

from __future__ import annotations

import random

from agent.simulator.attachments import PARENTS, PUBLISH_VALUES
from agent.simulator.tenant import PickValue, Tenant, UdfDefinition

FIRST_NAMES = (
    "Alex",
    "Dana",
    "Sam",
    "Robin",
    "Kim",
    "Jordan",
    "Casey",
    "Morgan",
    "Riley",
    "Taylor",
    "Jamie",
    "Avery",
    "Quinn",
    "Reese",
    "Drew",
    "Hayden",
    "Parker",
    "Skyler",
)
LAST_NAMES = (
    "Field",
    "Dispatch",
    "Nguyen",
    "Okafor",
    "Schmidt",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "Haddad",
    "Larsen",
    "Moreau",
    "Silva",
    "Murphy",
    "Fischer",
    "Novak",
    "Singh",
)
ROLE_NAMES = (
    "Technician",
    "Field Engineer",
    "Senior Engineer",
    "Help Desk",
    "Network Engineer",
    "Dispatcher",
    "Project Manager",
)
STATUS_CUSTOM = ("Waiting Customer", "Waiting Parts", "Dispatched", "On Site", "Escalated")


def ids(rng: random.Random, base: int, count: int) -> list[int]:
    values, current = [], base + rng.randrange(50)
    for _ in range(count):
        current += 1 + rng.randrange(9)
        values.append(current)
    return values


def _picklist(
    labels: list[tuple[int, str]], system: set[int], default: int | None
) -> list[PickValue]:
    return [
        PickValue(value, label, value == default, order, None, True, value in system)
        for order, (value, label) in enumerate(labels, start=1)
    ]


def picklists(tenant: Tenant, rng: random.Random, roles: list[int]) -> None:
    custom = ids(rng, 9, len(STATUS_CUSTOM))
    status = [
        (1, "New"),
        (8, "In Progress"),
        *zip(custom, STATUS_CUSTOM, strict=True),
        (5, "Complete"),
    ]
    p = tenant.picklists
    p[("Tickets", "status")] = _picklist(status, {1, 5, 8}, 1)
    urgent = 4 + rng.randrange(1, 6)
    p[("Tickets", "priority")] = _picklist(
        [(4, "Critical"), (1, "High"), (2, "Medium"), (3, "Low"), (urgent, "Planned")],
        {1, 2, 3, 4},
        2,
    )
    queues = ids(rng, 29682800, 5)
    p[("Tickets", "queueID")] = _picklist(
        list(
            zip(
                queues,
                (
                    "Client Portal",
                    "Level I Support",
                    "Level II Support",
                    "Field Services",
                    "Recurring Tickets",
                ),
                strict=True,
            )
        ),
        set(),
        queues[1],
    )
    issues = ids(rng, 10, 4)
    p[("Tickets", "issueType")] = _picklist(
        list(zip(issues, ("Hardware", "Software", "Network", "Printing"), strict=True)), set(), None
    )
    subs = ids(rng, 200, 8)
    sub_labels = ("Laptop", "Disk", "Office", "Line of business", "Wi-Fi", "VPN", "Toner", "Jam")
    p[("Tickets", "subIssueType")] = [
        PickValue(v, label, False, i + 1, issues[i // 2])
        for i, (v, label) in enumerate(zip(subs, sub_labels, strict=True))
    ]
    p[("Tickets", "ticketType")] = _picklist(
        [
            (1, "Service Request"),
            (2, "Incident"),
            (3, "Problem"),
            (4, "Change Request"),
            (5, "Alert"),
        ],
        {1, 2, 3, 4, 5},
        1,
    )
    p[("Tickets", "ticketCategory")] = _picklist(
        [(2, "Standard"), (3, "RMA"), (ids(rng, 100, 1)[0], "Field Visit")], {2, 3}, 2
    )
    p[("Tickets", "source")] = _picklist(
        [(-1, "Client Portal"), (2, "Phone"), (4, "Email"), (6, "Web Portal"), (8, "Verbal")],
        {-1, 2, 4, 6, 8},
        2,
    )
    role_values = [(r, tenant.records["Roles"][r]["name"]) for r in roles]
    p[("Tickets", "assignedResourceRoleID")] = _picklist(role_values, set(), None)
    p[("TicketNotes", "noteType")] = _picklist(
        [
            (1, "Task Summary"),
            (2, "Task Detail"),
            (3, "Workflow Note"),
            (ids(rng, 20, 1)[0], "Site Visit Report"),
        ],
        {1, 2, 3},
        2,
    )
    p[("TicketNotes", "publish")] = _picklist(
        [(1, "All Autotask Users"), (2, "Internal Project Team"), (4, "Internal & Co-managed")],
        {1, 2, 4},
        1,
    )
    for route in PARENTS:
        p[(route, "publish")] = _picklist(list(PUBLISH_VALUES), {1, 2, 4}, 1)
    p[("TimeEntries", "roleID")] = _picklist(role_values, set(), None)
    codes = ids(rng, 29682800, 5)
    p[("TimeEntries", "billingCodeID")] = _picklist(
        list(
            zip(
                codes,
                ("Remote Support", "On-Site Support", "Travel", "Project Work", "After Hours"),
                strict=True,
            )
        ),
        set(),
        codes[0],
    )
    p[("TimeEntries", "timeEntryType")] = _picklist([(2, "Ticket"), (6, "Task")], {2, 6}, None)
    p[("Companies", "companyType")] = _picklist(
        [(1, "Customer"), (2, "Lead"), (3, "Prospect"), (7, "Vendor"), (8, "Partner")],
        {1, 2, 3, 7, 8},
        1,
    )
    p[("Resources", "licenseType")] = _picklist([(1, "Full"), (7, "API User")], {1, 7}, 1)
    p[("Resources", "userType")] = _picklist([(1, "Full Access"), (17, "API User")], {1, 17}, 1)
    p[("Roles", "roleType")] = _picklist([(1, "Standard")], {1}, 1)
    _visit_picklists(tenant, random.Random(f"{tenant.name}:visit-picklists"))
    tenant.udfs["Tickets"] = [
        UdfDefinition(
            "Site Visit Required",
            "Site Visit Required",
            "list",
            [PickValue(1, "Yes"), PickValue(2, "No")],
        ),
        UdfDefinition("Customer Reference", "Customer Reference"),
        UdfDefinition("Asset Tag", "Asset Tag"),
    ]


def staff(tenant: Tenant, rng: random.Random) -> tuple[list[int], list[int]]:
    roles = []
    for i, name in enumerate(ROLE_NAMES):
        roles.append(
            tenant.insert(
                "Roles",
                {
                    "name": name,
                    "description": f"{name} role",
                    "hourlyRate": 90.0 + 15 * i,
                    "isActive": True,
                    "isSystemRole": False,
                    "roleType": 1,
                },
                29682800 + 7 * i + rng.randrange(7),
            )
        )
    resources = []
    for i in range(10):
        first, last = FIRST_NAMES[i], LAST_NAMES[i]
        rid = tenant.insert(
            "Resources",
            {
                "userName": f"{first[0]}{last}".lower(),
                "firstName": first,
                "lastName": last,
                "email": f"{first}.{last}@example-msp.com".lower(),
                "title": ROLE_NAMES[i % 5],
                "officePhone": f"555-01{i:02d}",
                "mobilePhone": None,
                "isActive": True,
                "resourceType": "Employee",
                "licenseType": 1,
                "userType": 1,
            },
            29682885 + 3 * i + rng.randrange(3),
        )
        mine = [roles[i % 5]] if i != 1 else [roles[5]]
        if i == 0:
            mine = [roles[0], roles[1]]  # the technician works as Technician and Field Engineer
        elif rng.random() < 0.5:
            mine.append(roles[(i + 2) % 5])
        for role in mine:
            tenant.insert(
                "ResourceRoles",
                {"resourceID": rid, "roleID": role, "departmentID": 29682841, "isActive": True},
            )
        tenant.records["Resources"][rid]["defaultServiceDeskRoleID"] = mine[0]
        resources.append(rid)
    return roles, resources


def _visit_picklists(tenant: Tenant, rng: random.Random) -> None:
    """Picklists of the entities a visit touches (service calls, charges, devices, codes)."""
    p = tenant.picklists
    call_states = ids(rng, 1, 3)
    p[("ServiceCalls", "status")] = _picklist(
        [
            (call_states[0], "Scheduled"),
            (call_states[1], "Confirmed"),
            (call_states[2], "On Hold"),
        ],
        set(),
        call_states[0],
    )
    p[("TicketCharges", "chargeType")] = _picklist(
        [(1, "Operational"), (2, "Capitalized")], {1, 2}, 1
    )
    p[("TicketCharges", "status")] = _picklist(
        [(1, "Need to Order/Fulfill"), (2, "Ordered"), (3, "Back Ordered"), (4, "Fulfilled")],
        {1, 2, 3, 4},
        1,
    )
    p[("ConfigurationItems", "configurationItemType")] = _picklist(
        [(1, "Workstation"), (2, "Server"), (3, "Printer"), (ids(rng, 10, 1)[0], "Network")],
        {1, 2, 3},
        1,
    )
    p[("BillingCodes", "useType")] = _picklist(
        [(1, "Work Type"), (2, "Material"), (3, "General")], {1, 2, 3}, 1
    )
    p[("BillingCodes", "billingCodeType")] = _picklist(
        [(0, "Normal"), (1, "Non-billable")], {0, 1}, 0
    )
    p[("Tickets", "serviceLevelAgreementID")] = _picklist(
        [(1, "Standard SLA"), (ids(rng, 2, 1)[0], "Priority SLA")], {1}, None
    )
