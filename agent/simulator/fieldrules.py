"""What the Swagger does not say about fields: the small hand-written table beside the schema.

The Swagger gives every entity's fields and types but not which fields are required, read-only
or picklists, nor references and lengths. Those are written here only for the entities whose
behaviour matters to a field technician's work; every other entity is served exactly as its
Swagger model describes it, with the system-stamped fields below read-only.

Each entry is one string per property, of space-separated field names (`name:value` where a
value is needed), so the whole table stays readable at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass

# Stamped by the server on every entity that has them: read-only whatever the entity.
SYSTEM_FIELDS = frozenset(
    name.lower()
    for name in [
        "id",
        "createDate",
        "createDateTime",
        "lastModifiedDate",
        "lastModifiedDateTime",
        "lastModifiedTime",
        "lastActivityDate",
        "lastTrackedModificationDateTime",
        "lastTrackedModifiedDateTime",
        "updateDateTime",
        "creatorResourceID",
        "createdByResourceID",
        "createdByPersonID",
        "creatorUserID",
        "lastModifiedUserID",
        "impersonatorCreatorResourceID",
        "impersonatorUpdaterResourceID",
        "lastActivityResourceID",
        "lastActivityPersonType",
        "lastActivityPersonID",
    ]
)


@dataclass(frozen=True, slots=True)
class EntityRules:
    """The hand-written facts of one entity (field names as the API spells them)."""

    required: str = ""
    read_only: str = ""
    picklists: str = ""  # `field` or `field:parentField` for a dependent picklist
    references: str = ""  # `field:EntityType`
    lengths: str = ""  # `field:maximum`
    not_queryable: str = ""
    marker: str | None = None  # the change marker usable as a watermark
    missing_answers_404: bool = False  # a missing id: 404 instead of 200 {"item": null}


RULES: dict[str, EntityRules] = {
    "Tickets": EntityRules(
        required="companyID priority status title",
        read_only="ticketNumber completedDate creatorType resolvedDateTime "
        "firstResponseDateTime lastCustomerNotificationDateTime "
        "lastCustomerVisibleActivityDateTime serviceLevelAgreementHasBeenMet",
        picklists="status priority queueID issueType subIssueType:issueType ticketType "
        "ticketCategory source assignedResourceRoleID serviceLevelAgreementID",
        references="companyID:Company contactID:Contact assignedResourceID:Resource "
        "assignedResourceRoleID:Role creatorResourceID:Resource lastActivityResourceID:Resource "
        "configurationItemID:ConfigurationItem contractID:Contract billingCodeID:BillingCode "
        "companyLocationID:CompanyLocation",
        lengths="ticketNumber:50 title:255 description:8000 resolution:32000 "
        "purchaseOrderNumber:50 externalID:50",
        not_queryable="creatorType lastActivityPersonType",
        marker="lastTrackedModificationDateTime",
    ),
    "TicketNotes": EntityRules(
        required="ticketID description noteType publish",
        picklists="noteType publish",
        references="ticketID:Ticket creatorResourceID:Resource",
        lengths="title:250 description:32000",
    ),
    "TimeEntries": EntityRules(
        required="resourceID dateWorked summaryNotes roleID",
        read_only="hoursToBill timeEntryType billingApprovalDateTime "
        "billingApprovalLevelMostRecent billingApprovalResourceID",
        picklists="roleID billingCodeID timeEntryType",
        references="resourceID:Resource ticketID:Ticket taskID:Task roleID:Role "
        "contractID:Contract billingCodeID:BillingCode",
        lengths="summaryNotes:8000 internalNotes:8000",
        marker="lastModifiedDateTime",
        missing_answers_404=True,
    ),
    "Companies": EntityRules(
        required="companyName companyType phone ownerResourceID",
        picklists="companyType",
        references="ownerResourceID:Resource parentCompanyID:Company",
        lengths="companyName:100 companyNumber:50 phone:25 address1:150 address2:150 city:50 "
        "state:40 postalCode:20 webAddress:255",
        marker="lastTrackedModifiedDateTime",
    ),
    "Contacts": EntityRules(
        required="companyID firstName lastName isActive",
        references="companyID:Company companyLocationID:CompanyLocation",
        lengths="firstName:50 lastName:50 emailAddress:254 phone:25 mobilePhone:25 title:50 "
        "extension:10",
        marker="lastModifiedDate",
    ),
    "Resources": EntityRules(
        required="firstName lastName email",
        read_only="userName resourceType licenseType userType defaultServiceDeskRoleID",
        picklists="licenseType userType",
        references="defaultServiceDeskRoleID:Role locationID:InternalLocation",
        lengths="userName:32 firstName:50 lastName:50 email:254 title:50 officePhone:25 "
        "mobilePhone:25 resourceType:15",
    ),
    "Roles": EntityRules(
        read_only="name description hourlyRate hourlyFactor isActive isSystemRole roleType "
        "isExcludedFromNewContracts quoteItemDefaultTaxCategoryId",
        picklists="roleType",
        lengths="name:200 description:200",
    ),
    "ResourceRoles": EntityRules(
        read_only="resourceID roleID departmentID queueID isActive",
        references="resourceID:Resource roleID:Role departmentID:Department",
    ),
    "ServiceCalls": EntityRules(
        required="companyID startDateTime endDateTime",
        read_only="canceledByResourceID canceledDateTime duration",
        picklists="status",
        references="companyID:Company companyLocationID:CompanyLocation",
        lengths="description:2000",
        marker="lastModifiedDateTime",
        missing_answers_404=True,
    ),
    "ServiceCallTickets": EntityRules(
        required="serviceCallID ticketID",
        references="serviceCallID:ServiceCall ticketID:Ticket",
        missing_answers_404=True,
    ),
    "ServiceCallTicketResources": EntityRules(
        required="serviceCallTicketID resourceID",
        references="serviceCallTicketID:ServiceCallTicket resourceID:Resource",
        missing_answers_404=True,
    ),
    "Appointments": EntityRules(
        required="resourceID startDateTime endDateTime title",
        references="resourceID:Resource",
        lengths="title:255 description:8000",
        marker="updateDateTime",
        missing_answers_404=True,
    ),
    "TicketChecklistItems": EntityRules(
        required="ticketID itemName",
        read_only="completedByResourceID completedDateTime",
        references="ticketID:Ticket completedByResourceID:Resource",
        lengths="itemName:600",
    ),
    "TicketCharges": EntityRules(
        required="ticketID name unitQuantity chargeType status",
        read_only="billableAmount extendedCost internalCurrencyBillableAmount "
        "internalCurrencyUnitPrice isBilled statusLastModifiedBy statusLastModifiedDate",
        picklists="chargeType status",
        references="ticketID:Ticket productID:Product billingCodeID:BillingCode",
        lengths="name:100 description:2000",
    ),
    "ConfigurationItems": EntityRules(
        required="companyID productID isActive",
        picklists="configurationItemType",
        references="companyID:Company productID:Product contactID:Contact",
        lengths="referenceTitle:200 serialNumber:100",
    ),
    "BillingCodes": EntityRules(picklists="useType billingCodeType", lengths="name:200"),
    "Products": EntityRules(
        required="name isActive",
        references="productBillingCodeID:BillingCode",
        lengths="name:100 sku:50",
    ),
    "AttachmentInfo": EntityRules(not_queryable="fileSize", missing_answers_404=True),
}


def names(text: str) -> set[str]:
    """The lower-cased field names of one table entry."""
    return {item.split(":", 1)[0].lower() for item in text.split()}


def pairs(text: str) -> dict[str, str]:
    """`field:value` items of one table entry, keyed by lower-cased field name."""
    out = {}
    for item in text.split():
        name, _, value = item.partition(":")
        out[name.lower()] = value
    return out


_ATTACHMENT_STAMPS = names(
    "attachDate attachedByResourceID attachedByContactID fileSize contentType parentType "
    "isTaskAttachment parentID opportunityID"
)
# Attachments under each kind of parent (`{Parent}/{id}/Attachments`): the same rules, with the
# reference to their own parent.
for _route, _parent in (
    ("CompanyAttachments", "parentID:Company"),
    ("OpportunityAttachments", "opportunityID:Opportunity"),
    ("ProjectAttachments", "parentID:Project"),
    ("TaskAttachments", "parentID:Task"),
    ("TicketAttachments", "parentID:Ticket"),
):
    _own_parent = _parent.split(":", 1)[0]
    RULES[_route] = EntityRules(
        required="attachmentType title fullPath publish",
        read_only=" ".join(
            name for name in sorted(_ATTACHMENT_STAMPS) if name != _own_parent.lower()
        ),
        picklists="publish",
        references=f"{_parent} attachedByResourceID:Resource",
        lengths="title:255 fullPath:255",
        not_queryable="data fileSize",
        missing_answers_404=True,
    )
