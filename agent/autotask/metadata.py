"""What an entity's fields are (`/entityInformation/fields`) and how much quota is left.

Picklist values are numeric strings in field information but ints on the wire; `value` holds
the int so it compares with record values, and falls back to the string if one is not numeric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.autotask.wire import WireTypeError, as_bool, as_int, as_str, lookup


@dataclass(frozen=True)
class PicklistValue:
    value: int | str
    label: str
    is_default: bool = False
    sort_order: int | None = None
    parent_value: int | str | None = None
    is_active: bool = True
    is_system: bool = False


@dataclass(frozen=True)
class FieldInfo:
    """One field of an entity, as `/entityInformation/fields` describes it."""

    name: str
    data_type: str
    length: int | None = None
    is_required: bool = False
    is_read_only: bool = False
    is_queryable: bool = True
    is_reference: bool = False
    reference_entity_type: str | None = None
    is_picklist: bool = False
    picklist_values: tuple[PicklistValue, ...] = ()
    picklist_parent_value_field: str | None = None


@dataclass(frozen=True)
class Threshold:
    """The tenant's request quota: `limit` calls per `timeframe_minutes`, `used` so far."""

    limit: int
    timeframe_minutes: int
    used: int

    @property
    def fraction_used(self) -> float:
        return self.used / self.limit if self.limit > 0 else 1.0


def _picklist_key(value: Any, name: str) -> int | str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise WireTypeError(f"{name} should be a picklist value")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        return int(stripped) if stripped.lstrip("-").isdigit() else stripped
    raise WireTypeError(f"{name} should be a picklist value")


def _flag(payload: dict[str, Any], name: str, default: bool) -> bool:
    value = as_bool(lookup(payload, name), name)
    return default if value is None else value


def picklist_value_from_wire(payload: Any) -> PicklistValue:
    if not isinstance(payload, dict):
        raise WireTypeError("a picklist value should be an object")
    value = _picklist_key(lookup(payload, "value"), "value")
    if value is None:
        raise WireTypeError("a picklist value needs a value")
    return PicklistValue(
        value=value,
        label=as_str(lookup(payload, "label"), "label") or "",
        is_default=_flag(payload, "isDefaultValue", False),
        sort_order=as_int(lookup(payload, "sortOrder"), "sortOrder"),
        parent_value=_picklist_key(lookup(payload, "parentValue"), "parentValue"),
        is_active=_flag(payload, "isActive", True),
        is_system=_flag(payload, "isSystem", False),
    )


def field_info_from_wire(payload: Any) -> FieldInfo:
    if not isinstance(payload, dict):
        raise WireTypeError("a field description should be an object")
    name = as_str(lookup(payload, "name"), "name")
    if not name:
        raise WireTypeError("a field description needs a name")
    values = lookup(payload, "picklistValues") or []
    if not isinstance(values, list):
        raise WireTypeError("picklistValues should be a list")
    return FieldInfo(
        name=name,
        data_type=as_str(lookup(payload, "dataType"), "dataType") or "",
        length=as_int(lookup(payload, "length"), "length"),
        is_required=_flag(payload, "isRequired", False),
        is_read_only=_flag(payload, "isReadOnly", False),
        is_queryable=_flag(payload, "isQueryable", True),
        is_reference=_flag(payload, "isReference", False),
        reference_entity_type=as_str(lookup(payload, "referenceEntityType"), "referenceEntityType")
        or None,
        is_picklist=_flag(payload, "isPickList", False),
        picklist_values=tuple(picklist_value_from_wire(v) for v in values),
        picklist_parent_value_field=as_str(
            lookup(payload, "picklistParentValueField"), "picklistParentValueField"
        )
        or None,
    )


# A tenant's hourly threshold is 10,000 unless Autotask raised it; ten thousand times that
# (1e300 from a proxy that rewrote it) is no reading of a real tenant.
MAX_THRESHOLD = 100_000_000


def threshold_from_wire(payload: Any) -> Threshold:
    if not isinstance(payload, dict):
        raise WireTypeError("threshold information should be an object")
    limit = as_int(lookup(payload, "externalRequestThreshold"), "externalRequestThreshold")
    timeframe = as_int(lookup(payload, "requestThresholdTimeframe"), "requestThresholdTimeframe")
    used = as_int(lookup(payload, "currentTimeframeRequestCount"), "currentTimeframeRequestCount")
    if limit is None or timeframe is None or used is None:
        raise WireTypeError("threshold information is incomplete")
    if not (1 <= limit <= MAX_THRESHOLD and 1 <= timeframe <= 24 * 60 and used >= 0):
        # Pacing on such a reading would be pacing blind (or dividing by nothing).
        raise WireTypeError(
            f"threshold information is impossible: threshold {limit}, timeframe {timeframe} "
            f"minutes, count {used}"
        )
    return Threshold(limit, timeframe, used)
