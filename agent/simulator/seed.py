"""Deterministic tenant data: picklists, roles, resources, companies, contacts, tickets and work.

Everything comes from one `random.Random(seed)`, so a seed and a clock give the same tenant.
Large tenants (100,000 tickets) build in cheap loops: few random draws per record.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from agent.clock import Clock
from agent.simulator.catalog import FIRST_NAMES, LAST_NAMES, picklists, staff
from agent.simulator.impersonation import seed_api_user
from agent.simulator.seed_visits import seed_visits
from agent.simulator.tenant import Record, Tenant
from agent.simulator.values import format_time

DEMO_USERNAME = "fieldsync-demo@example-msp.com"
DEMO_SECRET = "demo-secret-Xk29!pQ"  # public demo data, not a real credential
DEMO_INTEGRATION_CODE = "FIELDSYNCDEMO0000000000000"

OWN_OPEN_TICKETS = 40
COMPANY_WORDS = (
    "Northwind",
    "Bluebird",
    "Harbor",
    "Summit",
    "Cedar",
    "Lakeside",
    "Granite",
    "Maple",
    "Riverside",
    "Sunrise",
    "Ironwood",
    "Pioneer",
    "Willow",
    "Beacon",
)
COMPANY_KINDS = (
    "Dental",
    "Logistics",
    "Law Group",
    "Clinic",
    "Bakery",
    "Architects",
    "Realty",
    "Accounting",
    "Motors",
    "Labs",
    "School",
    "Hotel",
)
PROBLEMS = (
    "Printer offline",
    "VPN drops",
    "Outlook will not start",
    "Replace failed disk",
    "New starter laptop",
    "Wi-Fi dead zone",
    "Firewall firmware update",
    "Server slow",
    "Phone system no dial tone",
    "Backup job failed",
    "Scanner to email broken",
    "Install access point",
    "Password reset loop",
    "UPS beeping",
)
PLACES = (
    "reception",
    "front office",
    "warehouse",
    "server room",
    "conference room",
    "accounts",
    "upstairs office",
    "site B",
)


def build_tenant(seed: str, tickets: int, clock: Clock, zone: int | None = None) -> Tenant:
    """The tenant for `seed`: the demo API user (a resource of its own), ~30 companies, 100
    contacts, 10 staff (the first is the technician), `tickets`."""
    rng = random.Random(seed)
    tenant = Tenant(
        seed,
        zone if zone is not None else (5 if seed == "demo" else rng.choice((2, 3, 5, 6, 14, 15))),
        clock,
    )
    now_dt = clock.now()
    now = format_time(now_dt)
    tenant.next_ids.update(
        Tickets=7000 + rng.randrange(1000),
        TicketNotes=30000,
        TimeEntries=50000,
        Companies=170,
        Contacts=29683000,
    )
    roles, resources = staff(tenant, rng)
    picklists(tenant, rng, roles)
    seed_api_user(tenant, DEMO_USERNAME, DEMO_SECRET)
    tenant.integration_codes.add(DEMO_INTEGRATION_CODE)
    _customers(tenant, rng, resources, now)
    _tickets(tenant, rng, tickets, resources, now_dt)
    seed_visits(tenant, resources[0], now_dt)
    return tenant


def _customers(tenant: Tenant, rng: random.Random, resources: list[int], now: str) -> None:
    for i in range(30):
        name = f"{COMPANY_WORDS[i % 14]} {COMPANY_KINDS[(i * 5 + rng.randrange(3)) % 12]}"
        tenant.insert(
            "Companies",
            {
                "companyName": name,
                "companyNumber": f"C{1000 + i}",
                "companyType": 1,
                "phone": f"555-2{i:03d}",
                "address1": f"{10 + i} Main Street",
                "city": "Springfield",
                "state": "IL",
                "postalCode": f"62{i:03d}",
                "webAddress": None,
                "ownerResourceID": resources[rng.randrange(len(resources))],
                "parentCompanyID": None,
                "isActive": True,
                "createDate": now,
                "lastActivityDate": now,
                "lastTrackedModifiedDateTime": now,
            },
        )
    companies = list(tenant.records["Companies"])
    for i in range(100):
        first, last = FIRST_NAMES[rng.randrange(18)], LAST_NAMES[2 + rng.randrange(14)]
        tenant.insert(
            "Contacts",
            {
                "companyID": companies[i % 30],
                "firstName": first,
                "lastName": last,
                "emailAddress": f"{first}.{last}{i}@example.org".lower(),
                "phone": f"555-3{i:03d}",
                "mobilePhone": None,
                "title": None,
                "isActive": 1,
                "primaryContact": i < 30,
                "createDate": now,
                "lastActivityDate": now,
                "lastModifiedDate": now,
            },
        )


def _tickets(
    tenant: Tenant, rng: random.Random, count: int, resources: list[int], now: datetime
) -> None:
    stamps: dict[timedelta, str] = {}

    def stamp(offset: timedelta) -> str:
        # Many tickets share a minute offset; formatting once per offset keeps 100k tickets fast.
        text = stamps.get(offset)
        if text is None:
            text = stamps[offset] = format_time(now + offset)
        return text

    p = tenant.picklists
    statuses = [v.value for v in p[("Tickets", "status")]]
    open_statuses = [s for s in statuses if s != 5]
    priorities = [v.value for v in p[("Tickets", "priority")]]
    queues = [v.value for v in p[("Tickets", "queueID")]]
    subs = p[("Tickets", "subIssueType")]
    contacts_by_company: dict[int, list[int]] = {}
    for cid, contact in tenant.records["Contacts"].items():
        contacts_by_company.setdefault(contact["companyID"], []).append(cid)
    companies = list(contacts_by_company)
    roles = {r: sorted(tenant.roles_of(r)) for r in resources}
    technician = resources[0]
    own = set(rng.sample(range(count), min(OWN_OPEN_TICKETS, count)))
    note_types = [v.value for v in p[("TicketNotes", "noteType")]]
    codes = [v.value for v in p[("TimeEntries", "billingCodeID")]]
    udf_names = [u.name for u in tenant.udfs["Tickets"]]
    for i in range(count):
        r = rng.random()
        company = companies[int(r * 7919) % len(companies)]
        sub = subs[int(r * 104729) % len(subs)]
        age = timedelta(minutes=15 * int(r * 180 * 24 * 4) + 30)
        created = stamp(-age)
        touched = stamp(-(age // 3))
        if i in own:
            resource: int | None = technician
            status = open_statuses[i % len(open_statuses)]
        elif r < 0.2:
            resource = None
            status = 1
        else:
            resource = resources[1 + int(r * 613) % (len(resources) - 1)]
            status = statuses[int(r * 389) % len(statuses)]
        role = roles[resource][0] if resource is not None else None
        ticket: Record = {
            "ticketNumber": None,
            "title": f"{PROBLEMS[i % 14]} - {PLACES[int(r * 31) % 8]}",
            "description": f"Reported by phone. {PROBLEMS[i % 14]}; customer asks for a visit.",
            "status": status,
            "priority": priorities[int(r * 53) % len(priorities)],
            "queueID": queues[int(r * 97) % len(queues)],
            "issueType": sub.parent,
            "subIssueType": sub.value,
            "ticketType": 1 + (i % 2),
            "ticketCategory": 2,
            "source": 2,
            "companyID": company,
            "contactID": contacts_by_company[company][i % len(contacts_by_company[company])],
            "assignedResourceID": resource,
            "assignedResourceRoleID": role,
            "dueDateTime": stamp(timedelta(days=3 + i % 10) - age),
            "estimatedHours": float(1 + i % 4),
            "resolution": None,
            "purchaseOrderNumber": None,
            "externalID": None,
            "completedDate": touched if status == 5 else None,
            "createDate": created,
            "creatorResourceID": resources[1],
            "creatorType": 1,
            "lastActivityDate": touched,
            "lastActivityPersonType": 1,
            "lastActivityResourceID": resource or resources[1],
            "lastTrackedModificationDateTime": touched,
            "userDefinedFields": [
                {"name": udf_names[0], "value": "1" if i % 3 == 0 else "2"},
                {"name": udf_names[1], "value": f"PO-{i:05d}" if i % 4 == 0 else None},
                {"name": udf_names[2], "value": None},
            ],
        }
        tid = tenant.insert("Tickets", ticket)
        tenant.records["Tickets"][tid]["ticketNumber"] = f"T{(now - age):%Y%m%d}.{tid % 10000:04d}"
        for n in range(int(r * 1000) % 3):
            tenant.insert(
                "TicketNotes",
                {
                    "ticketID": tid,
                    "title": "Update" if n else "Triage",
                    "description": f"Note {n + 1}: talked to the customer about {ticket['title']}.",
                    "noteType": note_types[n % len(note_types)],
                    "publish": 1 + n % 2,
                    "createDateTime": touched,
                    "lastActivityDate": touched,
                    "creatorResourceID": resources[1],
                    "impersonatorCreatorResourceID": None,
                    "impersonatorUpdaterResourceID": None,
                },
            )
        if resource is not None and (i in own or r < 0.3):
            hours = 0.25 * (1 + int(r * 997) % 8)
            start = now - age // 2
            tenant.insert(
                "TimeEntries",
                {
                    "resourceID": resource,
                    "ticketID": tid,
                    "taskID": None,
                    "dateWorked": format_time(
                        start.replace(hour=0, minute=0, second=0, microsecond=0)
                    ),
                    "startDateTime": format_time(start),
                    "endDateTime": format_time(start + timedelta(hours=hours)),
                    "hoursWorked": hours,
                    "hoursToBill": hours,
                    "offsetHours": 0.0,
                    "summaryNotes": "Diagnosed and worked the issue.",
                    "internalNotes": None,
                    "roleID": role,
                    "billingCodeID": codes[i % len(codes)],
                    "contractID": None,
                    "isNonBillable": False,
                    "showOnInvoice": True,
                    "timeEntryType": 2,
                    "createDateTime": touched,
                    "creatorUserID": resource,
                    "lastModifiedDateTime": touched,
                    "lastModifiedUserID": resource,
                    "impersonatorCreatorResourceID": None,
                    "impersonatorUpdaterResourceID": None,
                },
            )
