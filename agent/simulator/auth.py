"""Which tenant a request belongs to, and whether its API credentials are good.

The failure answers reproduce what client maintainers observed: an unknown user name is a 500,
a wrong secret a 401, a bad integration code a 500 naming the integration code. Messages never
repeat the secret or the code that was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.simulator.tenant import Actor, ApiUser, Tenant
from agent.simulator.values import parse_integer_text

NOT_HOSTED = (
    "Zone information could not be determined for this database; it is not hosted in this zone"
)


class Directory:
    """Every tenant of the simulator, found by API user name."""

    def __init__(self, default: Tenant) -> None:
        self.default = default
        self.tenants: dict[str, Tenant] = {default.name: default}

    def add(self, tenant: Tenant) -> None:
        self.tenants[tenant.name] = tenant

    def find_user(self, username: str) -> tuple[Tenant, ApiUser] | None:
        for tenant in self.tenants.values():
            user = tenant.user(username)
            if user is not None:
                return tenant, user
        return None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request: its tenant, API user, integration code and acting resource."""

    tenant: Tenant
    user: ApiUser
    integration_code: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class Refusal:
    """An authentication failure, answered as `status` with these error messages."""

    status: int
    errors: tuple[str, ...]


def authenticate(directory: Directory, headers: dict[str, str]) -> Caller | Refusal:
    """Check the `UserName`, `Secret` and `ApiIntegrationCode` headers (lower-cased keys)."""
    username = headers.get("username", "")
    secret = headers.get("secret", "")
    code = headers.get("apiintegrationcode", "")
    if not username or not secret:
        return Refusal(401, ("Authorization has been denied for this request.",))
    found = directory.find_user(username)
    if found is None:
        return Refusal(500, ("The user name is not recognised as an API user.",))
    tenant, user = found
    if secret != user.secret:
        return Refusal(401, ("Authorization has been denied for this request.",))
    if code not in tenant.integration_codes:
        return Refusal(500, ("IntegrationCode is invalid",))
    impersonate = headers.get("impersonationresourceid", "").strip()
    actor = Actor(user.resource_id)
    if impersonate:
        resource_id = parse_integer_text(impersonate)
        resource = None if resource_id is None else tenant.get("Resources", resource_id)
        if resource_id is None or resource is None or not resource.get("isActive"):
            return Refusal(500, ("The impersonated resource does not exist or is inactive.",))
        actor = Actor(resource_id, impersonator=user.resource_id)
    return Caller(tenant, user, code, actor)
