"""Type-correct values and records for any entity, generated from its schema."""

from __future__ import annotations

from typing import Any

from agent.simulator import Simulator
from agent.simulator.schema import CHILDREN, ChildSpec, EntitySpec, FieldSpec
from agent.simulator.tenant import Record

TIMES = ("2026-02-03T04:05:06.000Z", "2026-03-04T05:06:07.000Z")


def sample_value(field: FieldSpec, turn: int = 0) -> Any:
    """A value of the field's type; `turn` 0 and 1 give two different ones."""
    kind = field.data_type
    if kind in ("integer", "long", "short"):
        return 7 + turn
    if kind in ("double", "decimal"):
        return 2.5 + turn
    if kind == "boolean":
        return turn == 0
    if kind == "datetime":
        return TIMES[turn]
    if kind == "object":
        return {"value": turn}
    text = f"{field.name[:8]}{turn}"
    return text[: field.length] if field.length else text


def child_route_of(spec: EntitySpec) -> tuple[str, ChildSpec] | None:
    """One child route serving the entity: (parent route name, child spec)."""
    for (parent, segment), child in CHILDREN.items():
        if child.entity is spec:
            return f"{parent}/{{parentId}}/{segment}", child
    return None


def ensure_record(sim: Simulator, spec: EntitySpec) -> Record:
    """A stored record of the entity: the first seeded one, or a generated one."""
    table = sim.tenant.records[spec.route]
    if table:
        return next(iter(table.values()))
    values = {f.name: sample_value(f) for f in spec.fields if f.name != "id"}
    if spec.route.endswith("Attachments"):
        values["data"] = "aGVsbG8="
    record_id = sim.tenant.insert(spec.route, values)
    return table[record_id]
