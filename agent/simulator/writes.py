"""Create, update (PUT/PATCH) and delete records with the API's validation and change markers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from agent.simulator import attachments
from agent.simulator.rules import rule_for
from agent.simulator.schema import BY_ROUTE, EntitySpec
from agent.simulator.tenant import Actor, Record, Tenant, UdfDefinition, template
from agent.simulator.values import ValueProblem, coerce, format_time, null_refused, parse_time


class WriteError(ValueError):
    """A write the API refuses; `messages` become the `errors` list of a 500 answer."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def _normalise(spec: EntitySpec, body: dict[str, Any]) -> tuple[dict[str, Any], Any, Any]:
    """Writable values by canonical field name, the body's id, and its UDF list."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    record_id: Any = None
    udfs: Any = None
    for key, raw in body.items():
        lowered = str(key).lower()
        if lowered == "userdefinedfields":
            udfs = raw
            continue
        found = spec.field(lowered)
        if found is None:
            continue  # the API's model binder ignores properties it does not know
        if found.name == "id":
            record_id = raw
            continue
        if found.read_only:
            continue
        if raw is None and null_refused(found.data_type):
            problems.append(f"Invalid value for field {found.name}: null is not a boolean.")
            continue
        try:
            values[found.name] = coerce(found.data_type, raw)
        except ValueProblem as exc:
            problems.append(f"Invalid value for field {found.name}: {exc}.")
    if problems:
        raise WriteError(*problems)
    return values, record_id, udfs


def _merge_udfs(tenant: Tenant, spec: EntitySpec, record: Record, raw: Any) -> None:
    """Apply the body's `userDefinedFields` to `record`. An entity whose model has no such
    property ignores it (the model binder drops unknown properties); an empty list changes
    nothing; each pair must name a field the tenant defines, and a picklist field takes one of
    its active values (as text, `"1"`), as a built-in picklist does."""
    if raw is None or not spec.has_udfs:
        return
    if not isinstance(raw, list):
        raise WriteError("userDefinedFields must be a list of name/value pairs.")
    if not raw:
        return
    definitions = {u.name.lower(): u for u in tenant.udfs.get(spec.route, [])}
    current = {u["name"]: u for u in record.get("userDefinedFields") or []}
    problems: list[str] = []
    for item in raw:
        if not isinstance(item, dict):
            raise WriteError("userDefinedFields must be a list of name/value pairs.")
        lowered = {str(k).lower(): v for k, v in item.items()}
        name = lowered.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append("A user-defined field needs a name.")
            continue
        definition = definitions.get(name.lower())
        if definition is None:
            problems.append(f"Unable to find user-defined field {name} on {spec.type_name}.")
            continue
        value = lowered.get("value")
        if value is not None and not isinstance(value, str):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if value and definition.picklist and not _udf_pick(definition, value):
            problems.append(
                f"The value {value} is not a valid picklist value of the user-defined field "
                f"{definition.name}."
            )
            continue
        current[definition.name] = {"name": definition.name, "value": value}
    if problems:
        raise WriteError(*problems)
    record["userDefinedFields"] = [
        current.get(u.name, {"name": u.name, "value": None})
        for u in tenant.udfs.get(spec.route, [])
    ]


def _udf_pick(definition: UdfDefinition, value: str) -> bool:
    """Whether `value` is an active value of the UDF's picklist (sent as its number, in text)."""
    return any(str(p.value) == value.strip() and p.is_active for p in definition.picklist)


def _unset_booleans(spec: EntitySpec) -> dict[str, bool]:
    """What a writable boolean left out of a create or PUT becomes: false, the value a .NET
    `bool` property has when the body does not name it."""
    return {f.name: False for f in spec.writable if null_refused(f.data_type)}


def _lengths(spec: EntitySpec, record: Record) -> list[str]:
    return [
        f"The value of {f.name} exceeds its maximum length of {f.length}."
        for f in spec.fields
        if f.data_type == "string" and f.length and len(record.get(f.name) or "") > f.length
    ]


def _record_id(raw: Any, spec: EntitySpec) -> int:
    try:
        return int(coerce("long", raw))
    except (ValueProblem, TypeError) as exc:
        raise WriteError(f"An id is required to update a {spec.type_name}.") from exc


def write(
    tenant: Tenant,
    route: str,
    verb: str,
    body: Any,
    actor: Actor,
    parent: tuple[str, int] | None = None,
    admit: Callable[[Record], None] | None = None,
) -> int:
    """Apply POST, PUT or PATCH of one record and return its id, or raise `WriteError`.

    `admit` sees the record once it passed every rule, just before it is stored; it may raise
    to refuse it (the attachment budget does, so only an otherwise valid file counts)."""
    spec = BY_ROUTE[route.lower()]
    if not isinstance(body, dict):
        raise WriteError(f"The request body must be one {spec.type_name} object.")
    values, raw_id, udfs = _normalise(spec, body)
    table = tenant.records[spec.route]
    if parent is not None and parent[0]:
        parent_field, parent_id = parent
        if values.get(parent_field) not in (None, parent_id):
            raise WriteError(f"{parent_field} does not match the parent id in the URL.")
        values[parent_field] = parent_id
    if verb == "POST":
        before: Record | None = None
        candidate = template(spec.route)
        if spec.has_udfs:
            candidate["userDefinedFields"] = [
                {"name": u.name, "value": None} for u in tenant.udfs.get(spec.route, [])
            ]
        candidate.update(_unset_booleans(spec))
        candidate.update(values)
    else:
        record_id = _record_id(raw_id, spec)
        existing = table.get(record_id)
        if existing is None or (parent is not None and existing.get(parent[0]) != parent[1]):
            raise WriteError(f"Unable to find the {spec.type_name} with id {record_id}.")
        before = existing
        candidate = dict(existing)
        if verb == "PUT":
            for f in spec.fields:
                kept = f.read_only or f.name in values or f.name == "id"
                if not kept and (parent is None or f.name != parent[0]):
                    candidate[f.name] = None
            candidate.update(_unset_booleans(spec))
        candidate.update(values)
    _merge_udfs(tenant, spec, candidate, udfs)
    problems = _lengths(spec, candidate)
    problems += rule_for(spec.route)(tenant, candidate, before, actor)
    if problems:
        raise WriteError(*problems)
    if admit is not None:
        admit(candidate)
    return _store(tenant, spec, candidate, before, actor)


def _store(
    tenant: Tenant, spec: EntitySpec, candidate: Record, before: Record | None, actor: Actor
) -> int:
    now = tenant.now_text()
    route = spec.route
    if before is None:
        _stamp(spec, candidate, now, actor, CREATE_STAMPS)
        _stamp_create(tenant, route, candidate, now, actor)
        attachment = route.endswith("Attachments")
        # Attachments of every parent share one id sequence: AttachmentInfo lists them all.
        first = tenant.next_ids["AttachmentInfo"] if attachment else None
        record_id = tenant.insert(route, candidate, first)
        stored = tenant.records[route][record_id]
        if attachment:
            attachments.mirror(tenant, route, stored)
        if route == "Tickets":
            stored["ticketNumber"] = _ticket_number(stored, record_id)
        if route in ("TicketNotes", "TimeEntries"):
            tenant.touch_ticket_activity(stored.get("ticketID"), actor.resource_id)
        return record_id
    if candidate == before:
        return int(before["id"])  # nothing changed: the change markers stay where they are
    _stamp(spec, candidate, now, actor, UPDATE_STAMPS)
    if route == "Tickets":
        candidate.update(lastActivityResourceID=actor.resource_id, lastActivityPersonType=1)
    before.clear()
    before.update(candidate)
    return int(before["id"])


# System fields the server stamps, on every entity that has them: "now", the acting resource,
# or the impersonating API user's resource.
CREATE_STAMPS = {
    "createDate": "now",
    "createDateTime": "now",
    "lastModifiedDate": "now",
    "lastModifiedDateTime": "now",
    "lastModifiedTime": "now",
    "lastActivityDate": "now",
    "lastTrackedModificationDateTime": "now",
    "lastTrackedModifiedDateTime": "now",
    "updateDateTime": "now",
    "creatorResourceID": "actor",
    "createdByResourceID": "actor",
    "creatorUserID": "actor",
    "lastModifiedUserID": "actor",
    "impersonatorCreatorResourceID": "impersonator",
}
UPDATE_STAMPS = {
    "lastModifiedDate": "now",
    "lastModifiedDateTime": "now",
    "lastModifiedTime": "now",
    "lastActivityDate": "now",
    "lastTrackedModificationDateTime": "now",
    "lastTrackedModifiedDateTime": "now",
    "updateDateTime": "now",
    "lastModifiedUserID": "actor",
    "impersonatorUpdaterResourceID": "impersonator",
}


def _stamp(spec: EntitySpec, rec: Record, now: str, actor: Actor, stamps: dict[str, str]) -> None:
    values = {"now": now, "actor": actor.resource_id, "impersonator": actor.impersonator}
    for name, source in stamps.items():
        if name.lower() in spec.by_lower:
            rec[name] = values[source]


def _ticket_number(ticket: Record, record_id: int) -> str:
    created = parse_time(ticket["createDate"])
    return f"T{created:%Y%m%d}.{record_id % 10000:04d}"


def _stamp_create(tenant: Tenant, route: str, rec: Record, now: str, actor: Actor) -> None:
    """What only some entities stamp on create, beyond the system fields."""
    if route == "Tickets":
        rec.update(
            creatorType=1,
            lastActivityResourceID=actor.resource_id,
            lastActivityPersonType=1,
        )
        if rec.get("dueDateTime") is None:
            rec["dueDateTime"] = _in_days(tenant, 3)
    elif route.endswith("Attachments"):
        rec.update(attachDate=now, attachedByResourceID=actor.resource_id)


def _in_days(tenant: Tenant, days: int) -> str:
    return format_time(tenant.clock.now() + timedelta(days=days))
