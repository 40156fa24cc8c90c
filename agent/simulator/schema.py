"""The entities the simulator serves: their fields, types, rules and allowed verbs.

Field names and types follow the vendor's Swagger definitions (camelCased); the set is trimmed
to what a field technician's work touches. The test suite checks every field here against the
Swagger extract, so this table cannot drift from the wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field as `entityInformation/fields` describes it."""

    name: str
    data_type: str
    length: int = 0
    required: bool = False
    read_only: bool = False
    queryable: bool = True
    reference: str | None = None
    picklist: bool = False
    picklist_parent: str | None = None


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """One entity: its route name, type name, fields and which verbs each URL shape takes."""

    route: str
    type_name: str
    fields: tuple[FieldSpec, ...]
    collection_verbs: frozenset[str] = frozenset()
    can_delete: bool = False
    has_udfs: bool = False
    marker: str | None = None
    by_lower: dict[str, FieldSpec] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        """The field whose name matches `name` without regard to case."""
        return self.by_lower.get(name.lower())

    @property
    def can_create(self) -> bool:
        return "POST" in self.collection_verbs

    @property
    def can_update(self) -> bool:
        return "PATCH" in self.collection_verbs


def _f(name: str, data_type: str = "integer", **kw: object) -> FieldSpec:
    return FieldSpec(name, data_type, **kw)  # type: ignore[arg-type]


def _ro(name: str, data_type: str = "integer", **kw: object) -> FieldSpec:
    return FieldSpec(name, data_type, read_only=True, **kw)  # type: ignore[arg-type]


def _s(name: str, length: int, **kw: object) -> FieldSpec:
    return FieldSpec(name, "string", length=length, **kw)  # type: ignore[arg-type]


_WRITE = frozenset({"POST", "PUT", "PATCH"})
_ID = _ro("id", "long")

TICKETS = EntitySpec(
    route="Tickets",
    type_name="Ticket",
    collection_verbs=_WRITE,
    has_udfs=True,
    marker="lastTrackedModificationDateTime",
    fields=(
        _ID,
        _ro("ticketNumber", "string", length=50),
        _s("title", 255, required=True),
        _s("description", 8000),
        _f("status", required=True, picklist=True),
        _f("priority", required=True, picklist=True),
        _f("queueID", picklist=True),
        _f("issueType", picklist=True),
        _f("subIssueType", picklist=True, picklist_parent="issueType"),
        _f("ticketType", picklist=True),
        _f("ticketCategory", picklist=True),
        _f("source", picklist=True),
        _f("companyID", required=True, reference="Company"),
        _f("contactID", reference="Contact"),
        _f("assignedResourceID", reference="Resource"),
        _f("assignedResourceRoleID", reference="Role", picklist=True),
        _f("dueDateTime", "datetime"),
        _f("estimatedHours", "double"),
        _s("resolution", 32000),
        _s("purchaseOrderNumber", 50),
        _s("externalID", 50),
        _ro("completedDate", "datetime"),
        _ro("createDate", "datetime"),
        _ro("creatorResourceID", reference="Resource"),
        _ro("creatorType", queryable=False),
        _ro("lastActivityDate", "datetime"),
        _ro("lastActivityPersonType", queryable=False),
        _ro("lastActivityResourceID", reference="Resource"),
        _ro("lastTrackedModificationDateTime", "datetime"),
    ),
)

TICKET_NOTES = EntitySpec(
    route="TicketNotes",
    type_name="TicketNote",
    collection_verbs=frozenset(),  # written only through /Tickets/{parentId}/Notes
    fields=(
        _ID,
        _f("ticketID", required=True, reference="Ticket"),
        _s("title", 250),
        _s("description", 32000, required=True),
        _f("noteType", required=True, picklist=True),
        _f("publish", required=True, picklist=True),
        _ro("createDateTime", "datetime"),
        _ro("lastActivityDate", "datetime"),
        _ro("creatorResourceID", reference="Resource"),
        _ro("impersonatorCreatorResourceID", reference="Resource"),
        _ro("impersonatorUpdaterResourceID", reference="Resource"),
    ),
)

TIME_ENTRIES = EntitySpec(
    route="TimeEntries",
    type_name="TimeEntry",
    collection_verbs=_WRITE,
    can_delete=True,
    marker="lastModifiedDateTime",
    fields=(
        _ID,
        _f("resourceID", required=True, reference="Resource"),
        _f("ticketID", reference="Ticket"),
        _f("taskID", reference="Task"),
        _f("dateWorked", "datetime", required=True),
        _f("startDateTime", "datetime"),
        _f("endDateTime", "datetime"),
        _f("hoursWorked", "double"),
        _ro("hoursToBill", "double"),
        _f("offsetHours", "double"),
        _s("summaryNotes", 8000, required=True),
        _s("internalNotes", 8000),
        _f("roleID", required=True, reference="Role", picklist=True),
        _f("billingCodeID", picklist=True),
        _f("contractID", reference="Contract"),
        _f("isNonBillable", "boolean"),
        _f("showOnInvoice", "boolean"),
        _ro("timeEntryType", picklist=True),
        _ro("createDateTime", "datetime"),
        _ro("creatorUserID", reference="Resource"),
        _ro("lastModifiedDateTime", "datetime"),
        _ro("lastModifiedUserID", reference="Resource"),
        _ro("impersonatorCreatorResourceID", reference="Resource"),
        _ro("impersonatorUpdaterResourceID", reference="Resource"),
    ),
)

COMPANIES = EntitySpec(
    route="Companies",
    type_name="Company",
    collection_verbs=_WRITE,
    marker="lastTrackedModifiedDateTime",
    fields=(
        _ID,
        _s("companyName", 100, required=True),
        _s("companyNumber", 50),
        _f("companyType", required=True, picklist=True),
        _s("phone", 25, required=True),
        _s("address1", 150),
        _s("city", 50),
        _s("state", 40),
        _s("postalCode", 20),
        _s("webAddress", 255),
        _f("ownerResourceID", required=True, reference="Resource"),
        _f("parentCompanyID", reference="Company"),
        _f("isActive", "boolean"),
        _ro("createDate", "datetime"),
        _ro("lastActivityDate", "datetime"),
        _ro("lastTrackedModifiedDateTime", "datetime"),
    ),
)

CONTACTS = EntitySpec(
    route="Contacts",
    type_name="Contact",
    collection_verbs=frozenset(),  # written only through /Companies/{parentId}/Contacts
    can_delete=True,
    marker="lastModifiedDate",
    fields=(
        _ID,
        _f("companyID", required=True, reference="Company"),
        _s("firstName", 50, required=True),
        _s("lastName", 50, required=True),
        _s("emailAddress", 254),
        _s("phone", 25),
        _s("mobilePhone", 25),
        _s("title", 50),
        _f("isActive", required=True),
        _f("primaryContact", "boolean"),
        _ro("createDate", "datetime"),
        _ro("lastActivityDate", "datetime"),
        _ro("lastModifiedDate", "datetime"),
    ),
)

RESOURCES = EntitySpec(
    route="Resources",
    type_name="Resource",
    collection_verbs=frozenset({"PUT", "PATCH"}),
    fields=(
        _ID,
        _ro("userName", "string", length=32),
        _s("firstName", 50, required=True),
        _s("lastName", 50, required=True),
        _s("email", 254, required=True),
        _s("title", 50),
        _s("officePhone", 25),
        _s("mobilePhone", 25),
        _f("isActive", "boolean"),
        _ro("resourceType", "string", length=15),
        _ro("licenseType", picklist=True),
        _ro("userType", picklist=True),
        _ro("defaultServiceDeskRoleID", "long", reference="Role"),
    ),
)

ROLES = EntitySpec(
    route="Roles",
    type_name="Role",
    fields=(
        _ID,
        _ro("name", "string", length=200),
        _ro("description", "string", length=200),
        _ro("hourlyRate", "double"),
        _ro("isActive", "boolean"),
        _ro("isSystemRole", "boolean"),
        _ro("roleType", picklist=True),
    ),
)

RESOURCE_ROLES = EntitySpec(
    route="ResourceRoles",
    type_name="ResourceRole",
    fields=(
        _ID,
        _ro("resourceID", "long", reference="Resource"),
        _ro("roleID", "long", reference="Role"),
        _ro("departmentID", "long", reference="Department"),
        _ro("isActive", "boolean"),
    ),
)

ENTITIES: tuple[EntitySpec, ...] = (
    TICKETS,
    TICKET_NOTES,
    TIME_ENTRIES,
    COMPANIES,
    CONTACTS,
    RESOURCES,
    ROLES,
    RESOURCE_ROLES,
)
BY_ROUTE: dict[str, EntitySpec] = {e.route.lower(): e for e in ENTITIES}

# Child routes: (parent route, child segment) -> (child entity, the child's parent-id field).
CHILDREN: dict[tuple[str, str], tuple[EntitySpec, str]] = {
    ("tickets", "notes"): (TICKET_NOTES, "ticketID"),
    ("companies", "contacts"): (CONTACTS, "companyID"),
}
