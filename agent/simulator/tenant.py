"""One Autotask database: its records, picklists, API users, zone and change markers."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any

from agent.clock import Clock
from agent.simulator.schema import BY_ROUTE, ENTITIES
from agent.simulator.values import format_time

Record = dict[str, Any]


@dataclass(slots=True)
class PickValue:
    """One picklist entry; `value` travels as a string in `entityInformation/fields`."""

    value: int
    label: str
    is_default: bool = False
    sort_order: int = 0
    parent: int | None = None
    is_active: bool = True
    is_system: bool = False

    def wire(self) -> dict[str, Any]:
        return {
            "value": str(self.value),
            "label": self.label,
            "isDefaultValue": self.is_default,
            "sortOrder": self.sort_order,
            "parentValue": "" if self.parent is None else str(self.parent),
            "isActive": self.is_active,
            "isSystem": self.is_system,
        }


@dataclass(slots=True)
class UdfDefinition:
    """A user-defined field of an entity (stored as text, optionally with a picklist)."""

    name: str
    label: str
    kind: str = "string"
    picklist: list[PickValue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who writes: the resource the change is attributed to, and the impersonating API user."""

    resource_id: int
    impersonator: int | None = None


@dataclass(slots=True)
class ApiUser:
    """An API-only user: its credentials and the resource it acts as."""

    username: str
    secret: str
    resource_id: int


@functools.cache
def _template(route: str) -> tuple[tuple[str, Any], ...]:
    spec = BY_ROUTE[route.lower()]
    # A boolean is a non-nullable .NET `bool`: a record never holds null there, but false.
    fields: list[tuple[str, Any]] = [
        (f.name, False if f.data_type == "boolean" else None) for f in spec.fields
    ]
    if spec.has_udfs:
        fields.append(("userDefinedFields", ()))
    return tuple(fields)


def template(route: str) -> Record:
    """A record of `route` with every field null, every boolean false (and no user-defined
    field values)."""
    record = dict(_template(route))
    if "userDefinedFields" in record:
        record["userDefinedFields"] = []
    return record


class Tenant:
    """Records by entity and id (dicts kept in ascending id order), plus the tenant's settings."""

    def __init__(self, name: str, zone: int, clock: Clock) -> None:
        self.name = name
        self.zone = zone
        self.clock = clock
        self.records: dict[str, dict[int, Record]] = {e.route: {} for e in ENTITIES}
        self.next_ids: dict[str, int] = {e.route: 1 for e in ENTITIES}
        self.picklists: dict[tuple[str, str], list[PickValue]] = {}
        self.udfs: dict[str, list[UdfDefinition]] = {}
        self.users: dict[str, ApiUser] = {}
        self.integration_codes: set[str] = set()
        # Entities (routes) whose writes the security levels refuse to impersonate.
        self.impersonation_refused: set[str] = set()
        # Monotonic creation time per (entity, id), for read-after-write lag.
        self.created_at: dict[tuple[str, int], float] = {}

    # -- reading ---------------------------------------------------------------------------
    def table(self, route: str) -> dict[int, Record]:
        return self.records[BY_ROUTE[route.lower()].route]

    def get(self, route: str, record_id: int) -> Record | None:
        return self.table(route).get(record_id)

    def now_text(self) -> str:
        return format_time(self.clock.now())

    def picklist(self, route: str, field_name: str) -> list[PickValue]:
        return self.picklists.get((route, field_name), [])

    def picklist_values(self, route: str, field_name: str) -> set[int]:
        return {p.value for p in self.picklist(route, field_name) if p.is_active}

    def udf_names(self, route: str) -> dict[str, str]:
        return {u.name.lower(): u.name for u in self.udfs.get(route, [])}

    def roles_of(self, resource_id: int) -> set[int]:
        return {
            r["roleID"]
            for r in self.records["ResourceRoles"].values()
            if r["resourceID"] == resource_id and r["isActive"]
        }

    def user(self, username: str) -> ApiUser | None:
        return self.users.get(username.lower())

    # -- writing ---------------------------------------------------------------------------
    def insert(self, route: str, record: Record, record_id: int | None = None) -> int:
        """Store a new record under the next id (ids only grow, so tables stay sorted); the
        fields it does not name are null, as on a real record."""
        table = self.records[route]
        if record_id is None or record_id < self.next_ids[route]:
            record_id = self.next_ids[route]
        self.next_ids[route] = record_id + 1
        full = template(route)  # every field of the model, in its order (id first)
        full.update(record)
        full["id"] = record_id
        table[record_id] = full
        self.created_at[(route, record_id)] = self.clock.monotonic()
        return record_id

    def add_user(self, username: str, secret: str, resource_id: int) -> ApiUser:
        user = ApiUser(username, secret, resource_id)
        self.users[username.lower()] = user
        return user

    def touch_ticket_activity(self, ticket_id: int | None, resource_id: int | None) -> None:
        """A note or time entry was added: the ticket's activity date moves, not its version."""
        ticket = self.records["Tickets"].get(ticket_id or 0)
        if ticket is not None:
            ticket["lastActivityDate"] = self.now_text()
            ticket["lastActivityResourceID"] = resource_id
            ticket["lastActivityPersonType"] = 1

    def dump(self) -> dict[str, dict[int, Record]]:
        """Every record, deep-copied, by entity and id."""
        return {route: copy.deepcopy(table) for route, table in self.records.items()}
