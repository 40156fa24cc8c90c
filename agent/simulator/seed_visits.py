"""The technician's visits in the seeded tenant: service calls and who is dispatched, the
appointments of the day, checklists, parts used, the customer's devices, work types, products.

Drawn from a random generator of their own, so the tickets and work of a seed stay as they were.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from agent.simulator.tenant import Tenant
from agent.simulator.values import format_time

PRODUCTS = (
    ("Toner cartridge", "TON-100", 89.0, 55.0),
    ("Network cable 5 m", "CAB-5M", 9.5, 3.2),
    ("SSD 1 TB", "SSD-1TB", 129.0, 84.0),
    ("RAM 16 GB", "RAM-16", 79.0, 48.0),
    ("Wireless access point", "WAP-AX", 219.0, 150.0),
    ("UPS battery", "UPS-BAT", 99.0, 61.0),
    ("Laptop charger", "CHG-65W", 49.0, 22.0),
)
DEVICES = (("Front desk PC", 1), ("File server", 2), ("Office printer", 3), ("Core switch", 4))
CHECKLIST = (
    "Check power and cabling",
    "Run diagnostics and note the results",
    "Apply the fix",
    "Confirm with the customer that it works",
)
VISIT_HOURS = (9, 11, 14, 16)


def seed_visits(tenant: Tenant, technician: int, now: datetime) -> None:
    """Seed the entities a visit touches around the technician's own open tickets."""
    rng = random.Random(f"{tenant.name}:visits")
    tenant.next_ids.update(
        Products=232,
        ConfigurationItems=3100,
        ServiceCalls=410,
        ServiceCallTickets=900,
        ServiceCallTicketResources=1300,
        Appointments=610,
        TicketChecklistItems=77000,
        TicketCharges=5400,
        AttachmentInfo=880000,
        CompanyLocations=150,
        Contracts=29683400,
    )
    _sites_and_contracts(tenant, rng, now)
    materials = _billing_codes(tenant)
    products = [
        tenant.insert(
            "Products",
            {
                "name": name,
                "sku": sku,
                "description": f"{name} (stock item)",
                "unitPrice": price,
                "unitCost": cost,
                "isActive": True,
                "isSerialized": name.startswith(("SSD", "Wireless")),
                "productBillingCodeID": materials[0],
                "manufacturerName": "Contoso Supply",
            },
        )
        for name, sku, price, cost in PRODUCTS
    ]
    _devices(tenant, rng, products)
    _calls(tenant, rng, technician, now, products)
    for i, (title, hours) in enumerate((("Team meeting", 1.0), ("Safety training", 2.0))):
        start = (now + timedelta(days=1 + i)).replace(hour=8, minute=0, second=0, microsecond=0)
        tenant.insert(
            "Appointments",
            {
                "resourceID": technician,
                "title": title,
                "description": f"{title} at the office.",
                "startDateTime": format_time(start),
                "endDateTime": format_time(start + timedelta(hours=hours)),
                "createDateTime": format_time(now - timedelta(days=7)),
                "updateDateTime": format_time(now - timedelta(days=7)),
                "creatorResourceID": technician,
            },
        )


def _sites_and_contracts(tenant: Tenant, rng: random.Random, now: datetime) -> None:
    """Each company's primary location, and a service contract for about half of them: what a
    ticket's companyLocationID and contractID may name."""
    start = format_time(now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0))
    end = format_time(now.replace(month=12, day=31, hour=0, minute=0, second=0, microsecond=0))
    for company_id, company in tenant.records["Companies"].items():
        tenant.insert(
            "CompanyLocations",
            {
                "companyID": company_id,
                "name": "Primary",
                "address1": company.get("address1"),
                "city": company.get("city"),
                "postalCode": company.get("postalCode"),
                "phone": company.get("phone"),
                "isActive": True,
                "isPrimary": True,
                "isTaxExempt": False,
                "overrideAccountTaxSettings": False,
            },
        )
        if rng.random() < 0.5:
            tenant.insert(
                "Contracts",
                {
                    "companyID": company_id,
                    "contractName": f"{company.get('companyName')} managed services",
                    "contractType": 7,
                    "status": 1,
                    "startDate": start,
                    "endDate": end,
                    "isDefaultContract": True,
                    "isCompliant": True,
                    "timeReportingRequiresStartAndStopTimes": 0,
                },
            )


def _billing_codes(tenant: Tenant) -> list[int]:
    """Work types (the ids time entries use) and material codes; returns the material codes."""
    for pick in tenant.picklist("TimeEntries", "billingCodeID"):
        tenant.insert(
            "BillingCodes",
            {"name": pick.label, "useType": 1, "billingCodeType": 0, "isActive": pick.is_active},
            pick.value,
        )
    return [
        tenant.insert(
            "BillingCodes",
            {"name": name, "useType": 2, "billingCodeType": 0, "isActive": True, "markupRate": 0.2},
        )
        for name in ("Hardware", "Consumables")
    ]


def _devices(tenant: Tenant, rng: random.Random, products: list[int]) -> None:
    contacts: dict[int, int] = {}
    for cid, contact in tenant.records["Contacts"].items():
        contacts.setdefault(contact["companyID"], cid)
    for company in tenant.records["Companies"]:
        for name, kind in DEVICES[: 2 + rng.randrange(3)]:
            tenant.insert(
                "ConfigurationItems",
                {
                    "companyID": company,
                    "contactID": contacts.get(company),
                    "productID": products[rng.randrange(len(products))],
                    "referenceTitle": name,
                    "serialNumber": f"SN{rng.randrange(10**8):08d}",
                    "configurationItemType": kind,
                    "isActive": True,
                    "location": "Main office",
                },
            )


def _calls(
    tenant: Tenant, rng: random.Random, technician: int, now: datetime, products: list[int]
) -> None:
    tickets = tenant.records["Tickets"]
    own = [i for i, t in tickets.items() if t["assignedResourceID"] == technician]
    states = [p.value for p in tenant.picklist("ServiceCalls", "status")]
    stamp = format_time(now - timedelta(days=2))
    primary = {
        loc["companyID"]: loc["id"]
        for loc in tenant.records["CompanyLocations"].values()
        if loc.get("isPrimary")
    }
    for n, ticket_id in enumerate(own[:12]):
        ticket = tickets[ticket_id]
        day = (now + timedelta(days=n // 4)).replace(minute=0, second=0, microsecond=0)
        start = day.replace(hour=VISIT_HOURS[n % 4])
        call = tenant.insert(
            "ServiceCalls",
            {
                "companyID": ticket["companyID"],
                "companyLocationID": primary.get(ticket["companyID"]),
                "description": f"Visit: {ticket['title']}",
                "startDateTime": format_time(start),
                "endDateTime": format_time(start + timedelta(hours=1.5)),
                "duration": 1.5,
                "status": states[n % 2],
                "isComplete": 0,
                "createDateTime": stamp,
                "lastModifiedDateTime": stamp,
                "creatorResourceID": technician,
            },
        )
        link = tenant.insert("ServiceCallTickets", {"serviceCallID": call, "ticketID": ticket_id})
        tenant.insert(
            "ServiceCallTicketResources", {"serviceCallTicketID": link, "resourceID": technician}
        )
    for ticket_id in own:
        for position, item in enumerate(CHECKLIST, start=1):
            done = position == 1 and rng.random() < 0.5
            tenant.insert(
                "TicketChecklistItems",
                {
                    "ticketID": ticket_id,
                    "itemName": item,
                    "position": position,
                    "isImportant": position == 3,
                    "isCompleted": done,
                    "completedByResourceID": technician if done else None,
                    "completedDateTime": stamp if done else None,
                },
            )
        if rng.random() < 0.3:
            product = products[rng.randrange(len(products))]
            record = tenant.records["Products"][product]
            tenant.insert(
                "TicketCharges",
                {
                    "ticketID": ticket_id,
                    "name": record["name"],
                    "productID": product,
                    "unitQuantity": 1.0,
                    "unitPrice": record["unitPrice"],
                    "unitCost": record["unitCost"],
                    "extendedCost": record["unitCost"],
                    "billableAmount": record["unitPrice"],
                    "internalCurrencyUnitPrice": record["unitPrice"],
                    "internalCurrencyBillableAmount": record["unitPrice"],
                    "chargeType": 1,
                    "status": 1,
                    "isBillableToCompany": True,
                    "isBilled": False,
                    "datePurchased": stamp,
                    "createDate": stamp,
                    "creatorResourceID": technician,
                },
            )
