"""Resource impersonation: the tenant's API-only user, and the entities its security level
refuses to write on another resource's behalf.

Only API-only users may call the API, so a team shares one: it signs in with its own
credentials and names the technician in `ImpersonationResourceId`. The server then records the
technician as creator and last modifier and the API user's resource as the impersonator. Which
entities may be written that way is a setting of the security levels; a write to a refused
entity is answered as a business-rule refusal (HTTP 500 with `{"errors": [...]}`), checked
before the record is looked up, so nothing is written in anyone's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agent.simulator.schema import BY_ROUTE
from agent.simulator.tenant import ApiUser, Tenant
from agent.simulator.wire import Reply, errors

if TYPE_CHECKING:
    from agent.simulator.auth import Caller
    from agent.simulator.routing import Route

# The picklist values of `Resources.licenseType` and `userType` that mark an API-only user.
API_LICENSE_TYPE = 7
API_USER_TYPE = 17

WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED = (
    "Impersonation is not allowed for {entity}: the security level does not permit resource "
    "{resource} to be impersonated when adding or editing {entity}."
)


def is_api_only(resource: dict[str, Any]) -> bool:
    """True for an API-only user's resource (it holds no roles and is never assigned work)."""
    return resource.get("licenseType") == API_LICENSE_TYPE


def seed_api_user(tenant: Tenant, username: str, secret: str) -> ApiUser:
    """Add an API-only user with a resource of its own (none of the technicians')."""
    resource_id = tenant.insert(
        "Resources",
        {
            "userName": username.split("@", 1)[0],
            "firstName": "Field Sync",
            "lastName": "API",
            "email": username.lower(),
            "title": "API user",
            "isActive": True,
            "resourceType": "Employee",
            "licenseType": API_LICENSE_TYPE,
            "userType": API_USER_TYPE,
        },
    )
    return tenant.add_user(username, secret, resource_id)


def entity_routes(names: Iterable[str]) -> set[str]:
    """The entity routes (`TicketNotes`) named by `names`, matched without regard to case;
    `ValueError` names any that is not an entity."""
    found: set[str] = set()
    for name in names:
        spec = BY_ROUTE.get(str(name).strip().lower())
        if spec is None:
            raise ValueError(f"{name!r} is not an entity of the API")
        found.add(spec.route)
    return found


def refuse(tenant: Tenant, names: Iterable[str]) -> set[str]:
    """Make the tenant refuse impersonated writes to exactly these entities."""
    tenant.impersonation_refused = entity_routes(names)
    return tenant.impersonation_refused


def refusal(caller: Caller, route: Route, method: str) -> Reply | None:
    """The answer to an impersonated write the tenant refuses, or None to go on."""
    actor = caller.actor
    if actor.impersonator is None or method not in WRITE_VERBS or route.entity is None:
        return None
    entity = route.entity.route
    if entity not in caller.tenant.impersonation_refused:
        return None
    return errors(500, REFUSED.format(entity=entity, resource=actor.resource_id))


def control(tenant: Tenant, method: str, body: dict[str, Any]) -> Reply:
    """`/_sim/impersonation`: GET the refused entities, POST `{"refused": [...]}` to set them."""
    if method == "POST":
        refused = body.get("refused")
        if not isinstance(refused, list):
            raise ValueError("refused is a list of entity names")
        refuse(tenant, refused)
    elif method != "GET":
        raise ValueError("GET or POST")
    return Reply(200, {"refused": sorted(tenant.impersonation_refused)})
