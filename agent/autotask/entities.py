"""The Autotask entities a field technician works with, as typed records.

Picklist fields (status, priority, noteType, ...) are ints on the wire; their labels differ
from tenant to tenant and come from `AutotaskClient.picklists`, never from constants here.
"""

# wire_field returns a dataclasses.field(), which ruff cannot tell from a mutable default.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from agent.autotask.records import Record, UserDefinedFields, wire_field


@dataclass(frozen=True)
class Ticket(Record):
    ENTITY: ClassVar[str] = "Tickets"
    # lastActivityDate also moves when a note or time entry is added, so it is no version.
    CHANGE_MARKER: ClassVar[str | None] = "lastTrackedModificationDateTime"

    id: int | None = wire_field("id", "int")
    ticket_number: str | None = wire_field("ticketNumber", "str")
    title: str | None = wire_field("title", "str")
    description: str | None = wire_field("description", "str")
    status: int | None = wire_field("status", "int")
    priority: int | None = wire_field("priority", "int")
    company_id: int | None = wire_field("companyID", "int")
    company_location_id: int | None = wire_field("companyLocationID", "int")
    contact_id: int | None = wire_field("contactID", "int")
    assigned_resource_id: int | None = wire_field("assignedResourceID", "int")
    assigned_resource_role_id: int | None = wire_field("assignedResourceRoleID", "int")
    queue_id: int | None = wire_field("queueID", "int")
    issue_type: int | None = wire_field("issueType", "int")
    sub_issue_type: int | None = wire_field("subIssueType", "int")
    ticket_type: int | None = wire_field("ticketType", "int")
    ticket_category: int | None = wire_field("ticketCategory", "int")
    source: int | None = wire_field("source", "int")
    configuration_item_id: int | None = wire_field("configurationItemID", "int")
    contract_id: int | None = wire_field("contractID", "int")
    billing_code_id: int | None = wire_field("billingCodeID", "int")
    estimated_hours: float | None = wire_field("estimatedHours", "float")
    resolution: str | None = wire_field("resolution", "str")
    due_date_time: datetime | None = wire_field("dueDateTime", "datetime")
    create_date: datetime | None = wire_field("createDate", "datetime")
    completed_date: datetime | None = wire_field("completedDate", "datetime")
    resolved_date_time: datetime | None = wire_field("resolvedDateTime", "datetime")
    last_activity_date: datetime | None = wire_field("lastActivityDate", "datetime")
    last_tracked_modification_date_time: datetime | None = wire_field(
        "lastTrackedModificationDateTime", "datetime"
    )
    user_defined_fields: UserDefinedFields | None = wire_field("userDefinedFields", "udf")


@dataclass(frozen=True)
class TicketNote(Record):
    ENTITY: ClassVar[str] = "TicketNotes"

    id: int | None = wire_field("id", "int")
    ticket_id: int | None = wire_field("ticketID", "int")
    title: str | None = wire_field("title", "str")
    description: str | None = wire_field("description", "str")
    note_type: int | None = wire_field("noteType", "int")
    publish: int | None = wire_field("publish", "int")
    creator_resource_id: int | None = wire_field("creatorResourceID", "int")
    impersonator_creator_resource_id: int | None = wire_field(
        "impersonatorCreatorResourceID", "int"
    )
    create_date_time: datetime | None = wire_field("createDateTime", "datetime")
    last_activity_date: datetime | None = wire_field("lastActivityDate", "datetime")


@dataclass(frozen=True)
class TimeEntry(Record):
    ENTITY: ClassVar[str] = "TimeEntries"
    CHANGE_MARKER: ClassVar[str | None] = "lastModifiedDateTime"

    id: int | None = wire_field("id", "int")
    ticket_id: int | None = wire_field("ticketID", "int")
    task_id: int | None = wire_field("taskID", "int")
    resource_id: int | None = wire_field("resourceID", "int")
    role_id: int | None = wire_field("roleID", "int")
    date_worked: datetime | None = wire_field("dateWorked", "datetime")
    start_date_time: datetime | None = wire_field("startDateTime", "datetime")
    end_date_time: datetime | None = wire_field("endDateTime", "datetime")
    hours_worked: float | None = wire_field("hoursWorked", "float")
    # Read-only: Autotask computes it and ignores what is sent.
    hours_to_bill: float | None = wire_field("hoursToBill", "float")
    summary_notes: str | None = wire_field("summaryNotes", "str")
    internal_notes: str | None = wire_field("internalNotes", "str")
    billing_code_id: int | None = wire_field("billingCodeID", "int")
    contract_id: int | None = wire_field("contractID", "int")
    time_entry_type: int | None = wire_field("timeEntryType", "int")
    is_non_billable: bool | None = wire_field("isNonBillable", "bool")
    show_on_invoice: bool | None = wire_field("showOnInvoice", "bool")
    create_date_time: datetime | None = wire_field("createDateTime", "datetime")
    last_modified_date_time: datetime | None = wire_field("lastModifiedDateTime", "datetime")
    user_defined_fields: UserDefinedFields | None = wire_field("userDefinedFields", "udf")


@dataclass(frozen=True)
class Company(Record):
    ENTITY: ClassVar[str] = "Companies"
    CHANGE_MARKER: ClassVar[str | None] = "lastTrackedModifiedDateTime"

    id: int | None = wire_field("id", "int")
    company_name: str | None = wire_field("companyName", "str")
    company_number: str | None = wire_field("companyNumber", "str")
    company_type: int | None = wire_field("companyType", "int")
    phone: str | None = wire_field("phone", "str")
    address1: str | None = wire_field("address1", "str")
    address2: str | None = wire_field("address2", "str")
    city: str | None = wire_field("city", "str")
    state: str | None = wire_field("state", "str")
    postal_code: str | None = wire_field("postalCode", "str")
    country_id: int | None = wire_field("countryID", "int")
    web_address: str | None = wire_field("webAddress", "str")
    owner_resource_id: int | None = wire_field("ownerResourceID", "int")
    is_active: bool | None = wire_field("isActive", "bool")
    create_date: datetime | None = wire_field("createDate", "datetime")
    last_tracked_modified_date_time: datetime | None = wire_field(
        "lastTrackedModifiedDateTime", "datetime"
    )
    user_defined_fields: UserDefinedFields | None = wire_field("userDefinedFields", "udf")


@dataclass(frozen=True)
class Contact(Record):
    ENTITY: ClassVar[str] = "Contacts"
    CHANGE_MARKER: ClassVar[str | None] = "lastModifiedDate"

    id: int | None = wire_field("id", "int")
    company_id: int | None = wire_field("companyID", "int")
    company_location_id: int | None = wire_field("companyLocationID", "int")
    first_name: str | None = wire_field("firstName", "str")
    last_name: str | None = wire_field("lastName", "str")
    title: str | None = wire_field("title", "str")
    email_address: str | None = wire_field("emailAddress", "str")
    phone: str | None = wire_field("phone", "str")
    extension: str | None = wire_field("extension", "str")
    mobile_phone: str | None = wire_field("mobilePhone", "str")
    # Autotask models a contact's isActive as 0/1, unlike the boolean of other entities.
    is_active: int | None = wire_field("isActive", "int")
    primary_contact: bool | None = wire_field("primaryContact", "bool")
    create_date: datetime | None = wire_field("createDate", "datetime")
    last_modified_date: datetime | None = wire_field("lastModifiedDate", "datetime")
    user_defined_fields: UserDefinedFields | None = wire_field("userDefinedFields", "udf")


@dataclass(frozen=True)
class Resource(Record):
    """An Autotask user (technician, dispatcher); no field marks a new version of it."""

    ENTITY: ClassVar[str] = "Resources"

    id: int | None = wire_field("id", "int")
    user_name: str | None = wire_field("userName", "str")
    first_name: str | None = wire_field("firstName", "str")
    last_name: str | None = wire_field("lastName", "str")
    email: str | None = wire_field("email", "str")
    title: str | None = wire_field("title", "str")
    office_phone: str | None = wire_field("officePhone", "str")
    mobile_phone: str | None = wire_field("mobilePhone", "str")
    resource_type: str | None = wire_field("resourceType", "str")
    user_type: int | None = wire_field("userType", "int")
    license_type: int | None = wire_field("licenseType", "int")
    location_id: int | None = wire_field("locationID", "int")
    default_service_desk_role_id: int | None = wire_field("defaultServiceDeskRoleID", "int")
    is_active: bool | None = wire_field("isActive", "bool")


@dataclass(frozen=True)
class ResourceRole(Record):
    """Which role a resource may work in (and in which department): read at the first sync."""

    ENTITY: ClassVar[str] = "ResourceRoles"

    id: int | None = wire_field("id", "int")
    resource_id: int | None = wire_field("resourceID", "int")
    role_id: int | None = wire_field("roleID", "int")
    department_id: int | None = wire_field("departmentID", "int")
    is_active: bool | None = wire_field("isActive", "bool")


ENTITY_TYPES: tuple[type[Record], ...] = (Ticket, TicketNote, TimeEntry, Company, Contact, Resource)
