"""The `entityInformation` answers: what an entity allows, its fields, picklists and UDFs."""

from __future__ import annotations

from typing import Any

from agent.simulator.schema import CHILDREN, WRITABLE_AS_CHILD, EntitySpec
from agent.simulator.tenant import Tenant

# The entities Autotask can call a webhook for.
WEBHOOK_ENTITIES = frozenset(
    {"Tickets", "TicketNotes", "Companies", "Contacts", "ConfigurationItems"}
)


def entity_information(tenant: Tenant, spec: EntitySpec) -> dict[str, Any]:
    as_child = WRITABLE_AS_CHILD.get(spec.route, frozenset())
    deletes_as_child = any(c.entity is spec and "DELETE" in c.item_verbs for c in CHILDREN.values())
    return {
        "info": {
            "name": spec.type_name,
            "canCreate": spec.can_create or "POST" in as_child,
            "canDelete": spec.can_delete or deletes_as_child,
            "canQuery": spec.queryable,
            "canUpdate": spec.can_update or "PATCH" in as_child,
            "hasUserDefinedFields": bool(tenant.udfs.get(spec.route)),
            "supportsWebhookCallouts": spec.route in WEBHOOK_ENTITIES,
        }
    }


def field_information(tenant: Tenant, spec: EntitySpec) -> dict[str, Any]:
    fields = []
    for f in spec.fields:
        picklist = tenant.picklist(spec.route, f.name) if f.picklist else []
        fields.append(
            {
                "name": f.name,
                "dataType": f.data_type,
                "length": f.length,
                "isRequired": f.required,
                "isReadOnly": f.read_only,
                "isQueryable": f.queryable,
                "isReference": f.reference is not None,
                "referenceEntityType": f.reference or "",
                "isPickList": f.picklist,
                "picklistValues": [p.wire() for p in picklist] if f.picklist else None,
                "picklistParentValueField": f.picklist_parent or "",
                "isSupportedWebhookField": False,
            }
        )
    return {"fields": fields}


def udf_information(tenant: Tenant, spec: EntitySpec) -> dict[str, Any]:
    fields = []
    for udf in tenant.udfs.get(spec.route, []):
        fields.append(
            {
                "name": udf.name,
                "label": udf.label,
                "type": udf.kind,
                "length": 8000,
                "description": "",
                "isRequired": False,
                "isReadOnly": False,
                "isQueryable": True,
                "isReference": False,
                "referenceEntityType": "",
                "isPickList": bool(udf.picklist),
                "picklistValues": [p.wire() for p in udf.picklist] if udf.picklist else None,
                "picklistParentValueField": "",
                "defaultValue": None,
                "isSupportedWebhookField": False,
            }
        )
    return {"fields": fields}
