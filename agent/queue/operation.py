"""The backend-neutral shape of an operation, of a request to queue one, and of list queries."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.queue.errors import InvalidOperationError
from agent.store.models import OpKind, OpState, Priority

# States in which an operation still has work ahead of it (deduplication and coalescing look here).
LIVE_STATES: frozenset[OpState] = frozenset(
    {OpState.PENDING, OpState.LEASED, OpState.PARKED, OpState.CONFLICT}
)
# States that hold back later operations on the same entity (so edits leave in the order made).
BLOCKING_STATES: frozenset[OpState] = frozenset({OpState.PENDING, OpState.LEASED})
FINISHED_STATES: frozenset[OpState] = frozenset({OpState.DONE, OpState.CANCELLED})
# Enum `.value` and `.name` are properties, slow on paths run for every operation.
KIND_TEXT: dict[OpKind, str] = {kind: kind.value for kind in OpKind}
PRIORITY_NAME: dict[Priority, str] = {p: p.name.lower() for p in Priority}

# Autotask's REST collection for each entity the agent writes; others follow the plural rule.
_ENDPOINTS = {"Ticket": "Tickets", "TicketNote": "TicketNotes", "TimeEntry": "TimeEntries"}


def endpoint_for(entity_type: str) -> str:
    known = _ENDPOINTS.get(entity_type)
    if known is not None:
        return known
    if entity_type.endswith("s"):
        return entity_type
    if entity_type.endswith("y"):
        return entity_type[:-1] + "ies"
    return entity_type + "s"


def entity_key(target_id: int | None, temp_id: str | None) -> str:
    """The entity an operation acts on: its server id, or `~temp` while it is not yet created."""
    return str(target_id) if target_id is not None else f"~{temp_id}"


@dataclass(frozen=True, slots=True)
class NewOperation:
    """A change to queue: an update names `target_id` (or the `temp_id` of a queued create);
    a create carries its own `temp_id` so later operations can refer to it before it exists."""

    kind: OpKind
    entity_type: str
    fields: Mapping[str, Any]
    base: Mapping[str, Any] = field(default_factory=dict)
    target_id: int | None = None
    temp_id: str | None = None
    parent_id: int | None = None
    parent_temp_id: str | None = None
    priority: Priority = Priority.NORMAL
    deadline_at: float | None = None
    technician: bool = True

    def __post_init__(self) -> None:
        if self.kind is not OpKind.CREATE and self.target_id is None and self.temp_id is None:
            raise InvalidOperationError(
                f"A {self.kind} of {self.entity_type} needs the entity's id or temporary id."
            )
        if self.kind is OpKind.CREATE and self.target_id is not None:
            raise InvalidOperationError("A create cannot name a server id; give it a temp_id.")


@dataclass(frozen=True, slots=True)
class Operation:
    """One queued operation as every backend returns it."""

    id: int
    kind: OpKind
    entity_type: str
    target_id: int | None
    temp_id: str | None
    parent_id: int | None
    parent_temp_id: str | None
    fields: dict[str, Any]
    base: dict[str, Any]
    priority: Priority
    state: OpState
    attempts: int
    next_attempt_at: float
    created_at: float
    updated_at: float
    deadline_at: float | None
    fingerprint: str
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    outcome_unknown: bool = False
    last_error: str | None = None
    error_category: str | None = None
    reason: str | None = None
    technician: bool = True
    depends_on: list[int] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return endpoint_for(self.entity_type)

    @property
    def entity_key(self) -> str:
        return entity_key(self.target_id, self.temp_id)

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    def evolve(self, **changes: Any) -> Operation:
        return _evolve(self, changes)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Operation))


def _compile() -> tuple[Callable[..., Operation], Callable[[Operation, dict[str, Any]], Operation]]:
    """Straight-line builders that set each slot through its descriptor.

    Operations are made and copied on every enqueue, claim and acknowledgement; the dataclass
    `__init__` (and `dataclasses.replace`) pass each of 25 fields through the frozen
    `__setattr__` guard, about twice the cost of these. Generated once, as `dataclasses` does.
    """
    names = _FIELD_NAMES
    env: dict[str, Any] = {
        "_new": object.__new__,
        "_Operation": Operation,
        "_put": tuple(Operation.__dict__[n].__set__ for n in names),
    }
    build = "def build(" + ", ".join(names) + "):\n n = _new(_Operation)\n"
    build += "".join(f" _put[{i}](n, {name})\n" for i, name in enumerate(names))
    evolve = "def evolve(self, c):\n n = _new(_Operation)\n"
    evolve += "".join(
        f" _put[{i}](n, c['{name}'] if '{name}' in c else self.{name})\n"
        for i, name in enumerate(names)
    )
    exec(build + " return n\n" + evolve + " return n\n", env)
    return env["build"], env["evolve"]


# build_operation(id, kind, ..., technician, depends_on): every field, in declaration order.
build_operation, _evolve = _compile()


def evolver(*changed: str) -> Callable[..., Operation]:
    """`lambda op, *values: op.evolve(**dict(zip(changed, values)))` for one fixed set of
    fields, generated straight-line (for the transitions every claim and acknowledgement makes)."""
    unknown = set(changed) - set(_FIELD_NAMES)
    if unknown:
        raise ValueError(f"not fields of an operation: {sorted(unknown)}")
    env: dict[str, Any] = {
        "_new": object.__new__,
        "_Operation": Operation,
        "_put": tuple(Operation.__dict__[n].__set__ for n in _FIELD_NAMES),
    }
    code = "def evolve(self, " + ", ".join(changed) + "):\n n = _new(_Operation)\n"
    code += "".join(
        f" _put[{i}](n, {name if name in changed else 'self.' + name})\n"
        for i, name in enumerate(_FIELD_NAMES)
    )
    exec(code + " return n\n", env)
    fn: Callable[..., Operation] = env["evolve"]
    return fn


@dataclass(frozen=True, slots=True)
class OpQuery:
    """Which operations to list or count. Paging: `after_id` (keyset, fast on any page) or
    `offset`; results come in ascending id order."""

    states: frozenset[OpState] | None = None
    priority: Priority | None = None
    entity_type: str | None = None
    target_id: int | None = None
    temp_id: str | None = None
    outcome_unknown: bool | None = None
    after_id: int | None = None
    offset: int = 0
    limit: int = 100

    def matches(self, op: Operation) -> bool:
        return (
            (self.states is None or op.state in self.states)
            and (self.priority is None or op.priority == self.priority)
            and (self.entity_type is None or op.entity_type == self.entity_type)
            and (self.target_id is None or op.target_id == self.target_id)
            and (self.temp_id is None or op.temp_id == self.temp_id)
            and (self.outcome_unknown is None or op.outcome_unknown == self.outcome_unknown)
        )


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Operation]
    next_after_id: int | None  # pass as `after_id` for the next page; None when this is the last


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """One entry of an operation's history (the audit trail's view of the outbox)."""

    action: str
    at: float
    op_id: int | None
    detail: dict[str, Any]
