"""The entities of a technician's visit, as typed records: service calls and who is dispatched,
appointments, checklists, parts used (charges), devices, work types, products, attachments.

Picklist fields are ints on the wire; their labels come from `AutotaskClient.picklists`.
"""

# wire_field returns a dataclasses.field(), which ruff cannot tell from a mutable default.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from agent.autotask.records import Record, UserDefinedFields, wire_field


@dataclass(frozen=True)
class ServiceCall(Record):
    ENTITY: ClassVar[str] = "ServiceCalls"
    CHANGE_MARKER: ClassVar[str | None] = "lastModifiedDateTime"

    id: int | None = wire_field("id", "int")
    company_id: int | None = wire_field("companyID", "int")
    company_location_id: int | None = wire_field("companyLocationID", "int")
    description: str | None = wire_field("description", "str")
    start_date_time: datetime | None = wire_field("startDateTime", "datetime")
    end_date_time: datetime | None = wire_field("endDateTime", "datetime")
    duration: float | None = wire_field("duration", "float")
    status: int | None = wire_field("status", "int")
    is_complete: int | None = wire_field("isComplete", "int")
    canceled_date_time: datetime | None = wire_field("canceledDateTime", "datetime")
    create_date_time: datetime | None = wire_field("createDateTime", "datetime")
    last_modified_date_time: datetime | None = wire_field("lastModifiedDateTime", "datetime")
    user_defined_fields: UserDefinedFields | None = wire_field("userDefinedFields", "udf")


@dataclass(frozen=True)
class ServiceCallTicket(Record):
    """A ticket worked in a service call (written under `ServiceCalls/{id}/Tickets`)."""

    ENTITY: ClassVar[str] = "ServiceCallTickets"

    id: int | None = wire_field("id", "int")
    service_call_id: int | None = wire_field("serviceCallID", "int")
    ticket_id: int | None = wire_field("ticketID", "int")


@dataclass(frozen=True)
class ServiceCallTicketResource(Record):
    """Who is dispatched to a service call's ticket (under `ServiceCallTickets/{id}/Resources`)."""

    ENTITY: ClassVar[str] = "ServiceCallTicketResources"

    id: int | None = wire_field("id", "int")
    service_call_ticket_id: int | None = wire_field("serviceCallTicketID", "int")
    resource_id: int | None = wire_field("resourceID", "int")


@dataclass(frozen=True)
class Appointment(Record):
    ENTITY: ClassVar[str] = "Appointments"
    CHANGE_MARKER: ClassVar[str | None] = "updateDateTime"

    id: int | None = wire_field("id", "int")
    resource_id: int | None = wire_field("resourceID", "int")
    title: str | None = wire_field("title", "str")
    description: str | None = wire_field("description", "str")
    start_date_time: datetime | None = wire_field("startDateTime", "datetime")
    end_date_time: datetime | None = wire_field("endDateTime", "datetime")
    update_date_time: datetime | None = wire_field("updateDateTime", "datetime")


@dataclass(frozen=True)
class TicketChecklistItem(Record):
    """One line of a ticket's checklist (under `Tickets/{id}/ChecklistItems`)."""

    ENTITY: ClassVar[str] = "TicketChecklistItems"

    id: int | None = wire_field("id", "int")
    ticket_id: int | None = wire_field("ticketID", "int")
    item_name: str | None = wire_field("itemName", "str")
    position: int | None = wire_field("position", "int")
    is_important: bool | None = wire_field("isImportant", "bool")
    is_completed: bool | None = wire_field("isCompleted", "bool")
    completed_by_resource_id: int | None = wire_field("completedByResourceID", "int")
    completed_date_time: datetime | None = wire_field("completedDateTime", "datetime")
    knowledgebase_article_id: int | None = wire_field("knowledgebaseArticleID", "int")


@dataclass(frozen=True)
class TicketCharge(Record):
    """A part or cost used on a ticket (under `Tickets/{id}/Charges`)."""

    ENTITY: ClassVar[str] = "TicketCharges"

    id: int | None = wire_field("id", "int")
    ticket_id: int | None = wire_field("ticketID", "int")
    name: str | None = wire_field("name", "str")
    description: str | None = wire_field("description", "str")
    product_id: int | None = wire_field("productID", "int")
    billing_code_id: int | None = wire_field("billingCodeID", "int")
    unit_quantity: float | None = wire_field("unitQuantity", "float")
    unit_price: float | None = wire_field("unitPrice", "float")
    unit_cost: float | None = wire_field("unitCost", "float")
    charge_type: int | None = wire_field("chargeType", "int")
    status: int | None = wire_field("status", "int")
    is_billable_to_company: bool | None = wire_field("isBillableToCompany", "bool")
    date_purchased: datetime | None = wire_field("datePurchased", "datetime")
    create_date: datetime | None = wire_field("createDate", "datetime")


@dataclass(frozen=True)
class ConfigurationItem(Record):
    """A customer's device or installed product."""

    ENTITY: ClassVar[str] = "ConfigurationItems"

    id: int | None = wire_field("id", "int")
    company_id: int | None = wire_field("companyID", "int")
    contact_id: int | None = wire_field("contactID", "int")
    product_id: int | None = wire_field("productID", "int")
    reference_title: str | None = wire_field("referenceTitle", "str")
    serial_number: str | None = wire_field("serialNumber", "str")
    configuration_item_type: int | None = wire_field("configurationItemType", "int")
    location: str | None = wire_field("location", "str")
    is_active: bool | None = wire_field("isActive", "bool")
    user_defined_fields: UserDefinedFields | None = wire_field("userDefinedFields", "udf")


@dataclass(frozen=True)
class BillingCode(Record):
    """A work type (`useType` 1) or material code; time entries name it in billingCodeID."""

    ENTITY: ClassVar[str] = "BillingCodes"

    id: int | None = wire_field("id", "int")
    name: str | None = wire_field("name", "str")
    description: str | None = wire_field("description", "str")
    use_type: int | None = wire_field("useType", "int")
    billing_code_type: int | None = wire_field("billingCodeType", "int")
    is_active: bool | None = wire_field("isActive", "bool")
    unit_price: float | None = wire_field("unitPrice", "float")


@dataclass(frozen=True)
class Product(Record):
    ENTITY: ClassVar[str] = "Products"

    id: int | None = wire_field("id", "int")
    name: str | None = wire_field("name", "str")
    description: str | None = wire_field("description", "str")
    sku: str | None = wire_field("sku", "str")
    unit_price: float | None = wire_field("unitPrice", "float")
    unit_cost: float | None = wire_field("unitCost", "float")
    is_active: bool | None = wire_field("isActive", "bool")
    is_serialized: bool | None = wire_field("isSerialized", "bool")
    product_billing_code_id: int | None = wire_field("productBillingCodeID", "int")
    user_defined_fields: UserDefinedFields | None = wire_field("userDefinedFields", "udf")


@dataclass(frozen=True)
class TicketAttachment(Record):
    """A file on a ticket (under `Tickets/{id}/Attachments`); `data` is base64 and comes only
    when the attachment itself is read."""

    ENTITY: ClassVar[str] = "TicketAttachments"

    id: int | None = wire_field("id", "int")
    parent_id: int | None = wire_field("parentID", "int")
    title: str | None = wire_field("title", "str")
    full_path: str | None = wire_field("fullPath", "str")
    attachment_type: str | None = wire_field("attachmentType", "str")
    content_type: str | None = wire_field("contentType", "str")
    file_size: float | None = wire_field("fileSize", "float")
    publish: int | None = wire_field("publish", "int")
    data: str | None = wire_field("data", "str")
    attach_date: datetime | None = wire_field("attachDate", "datetime")
    attached_by_resource_id: int | None = wire_field("attachedByResourceID", "int")


@dataclass(frozen=True)
class AttachmentInfo(Record):
    """Any attachment of any parent, without its file (query only)."""

    ENTITY: ClassVar[str] = "AttachmentInfo"

    id: int | None = wire_field("id", "int")
    parent_id: int | None = wire_field("parentID", "int")
    parent_type: int | None = wire_field("parentType", "int")
    title: str | None = wire_field("title", "str")
    full_path: str | None = wire_field("fullPath", "str")
    attachment_type: str | None = wire_field("attachmentType", "str")
    content_type: str | None = wire_field("contentType", "str")
    file_size: float | None = wire_field("fileSize", "float")
    publish: int | None = wire_field("publish", "int")
    attach_date: datetime | None = wire_field("attachDate", "datetime")


VISIT_TYPES: tuple[type[Record], ...] = (
    ServiceCall,
    ServiceCallTicket,
    ServiceCallTicketResource,
    Appointment,
    TicketChecklistItem,
    TicketCharge,
    ConfigurationItem,
    BillingCode,
    Product,
    TicketAttachment,
    AttachmentInfo,
)
