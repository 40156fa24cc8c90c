"""The vendor's Swagger, read once: every entity model with its fields and types, and its routes.

`agent/data/swagger-v1.json.gz` (read by `agent.api_description`) is the Datto|Autotask PSA
REST API description exactly as the vendor publishes it (from the MIT-licensed repository
KelvinTegelaar/AutotaskAPI). The simulator's catalogue of entities is generated from it when
first needed; only behaviour (read-only and required fields, picklists, business rules) is
written by hand, in `fieldrules`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from agent.api_description import document

_ENTITY_INFO = re.compile(r"^/V1\.0/([A-Za-z0-9]+)/entityInformation$")
_ROOT = re.compile(r"^/V1\.0/([A-Za-z0-9]+)(/query|/query/count|/\{id\})?$")
_CHILD = re.compile(r"^/V1\.0/([A-Za-z0-9]+)/\{parentId\}/([A-Za-z0-9]+)(/\{id\})?$")
# Answers and bodies that are envelopes, not entity models.
_ENVELOPES = frozenset(
    {
        "QueryModel",
        "QueryCountResultModel",
        "OperationResultModel",
        "EntityInformationResultModel",
        "FieldInformationResultModel",
        "UserDefinedFieldInformationResultModel",
    }
)
# The model property that only names the parent in the vendor's own code; it is never data.
_INTERNAL = frozenset({"soapparentpropertyid"})
# Child routes whose parent is named by a field the naming pattern does not find.
_PARENT_FIELDS = {
    ("CompanyWebhooks", "ExcludedResources"): "webhookID",
    ("CompanyWebhooks", "Fields"): "webhookID",
    ("CompanyWebhooks", "UdfFields"): "webhookID",
    ("ContactWebhooks", "ExcludedResources"): "webhookID",
    ("ContactWebhooks", "Fields"): "webhookID",
    ("ContactWebhooks", "UdfFields"): "webhookID",
    ("Expenses", "Items"): "expenseReportID",
    ("PurchaseOrders", "Items"): "orderID",
    ("Tasks", "Predecessors"): "successorTaskID",
    ("UserDefinedFields", "ListItems"): "udfFieldId",
}


@dataclass(frozen=True, slots=True)
class ModelField:
    """One property of an entity model, camelCased as the API sends it."""

    name: str
    data_type: str  # as entityInformation/fields names it: integer, long, double, ...
    read_only: bool


@dataclass(frozen=True, slots=True)
class ModelEntity:
    """One entity: its model, fields, and the verbs of its root routes."""

    name: str
    model: str
    fields: tuple[ModelField, ...]
    collection_verbs: frozenset[str]
    item_verbs: frozenset[str]
    queryable: bool
    has_udfs: bool


@dataclass(frozen=True, slots=True)
class ModelChild:
    """A child route `{parent}/{parentId}/{segment}` and the entity it serves."""

    parent: str
    segment: str
    entity: str
    parent_field: str | None
    collection_verbs: frozenset[str]
    item_verbs: frozenset[str]
    has_info: bool  # `{parent}/{parentId}/{segment}/entityInformation[/...]` exist


@dataclass(frozen=True, slots=True)
class Catalogue:
    entities: dict[str, ModelEntity]
    children: tuple[ModelChild, ...]
    paths: dict[str, frozenset[str]]  # every Swagger path (as written) -> its verbs


def camel(name: str) -> str:
    """The JSON name of a .NET property, as Json.NET's camel-case resolver writes it
    (`Id` -> `id`, `SKU` -> `sku`, `RMMDeviceID` -> `rmmDeviceID`)."""
    chars = list(name)
    for i, ch in enumerate(chars):
        if i == 1 and not ch.isupper():
            break
        has_next = i + 1 < len(chars)
        if i > 0 and has_next and not chars[i + 1].isupper():
            break
        chars[i] = ch.lower()
    return "".join(chars)


def data_type(prop: dict[str, Any]) -> str:
    """The entityInformation data type of a Swagger property."""
    kind, fmt = prop.get("type"), prop.get("format")
    if kind == "integer":
        return "long" if fmt == "int64" else "integer"
    if kind == "number":
        return "decimal" if fmt == "decimal" else "double"
    if kind == "boolean":
        return "boolean"
    if kind == "string" and fmt == "date-time":
        return "datetime"
    if kind == "object":
        return "object"
    return "string"


def _models_of(operation: dict[str, Any]) -> list[str]:
    found = []
    schema = operation.get("responses", {}).get("200", {}).get("schema", {})
    refs = [schema.get("$ref")]
    refs += [p["schema"].get("$ref") for p in operation.get("parameters", []) if p["in"] == "body"]
    for ref in refs:
        if isinstance(ref, str) and (name := ref.rsplit("/", 1)[-1]) not in _ENVELOPES:
            found.append(name)
    return found


def _fields(model: dict[str, Any]) -> tuple[tuple[ModelField, ...], bool]:
    fields, udfs = [], False
    for prop, spec in model.get("properties", {}).items():
        if prop.lower() in _INTERNAL:
            continue
        if prop.lower() == "userdefinedfields":
            udfs = True
            continue
        fields.append(ModelField(camel(prop), data_type(spec), bool(spec.get("readOnly"))))
    return tuple(fields), udfs


def _verbs(paths: dict[str, Any], path: str) -> frozenset[str]:
    return frozenset(v.upper() for v in paths.get(path, {}))


@functools.cache
def catalogue() -> Catalogue:
    """Every entity and child route the Swagger describes."""
    doc = document()
    paths, definitions = doc["paths"], doc["definitions"]
    models: dict[str, str] = {}
    for path in paths:
        if m := _ENTITY_INFO.match(path):
            models[m.group(1)] = ""
    for path, operations in paths.items():
        m = _ROOT.match(path)
        if m and m.group(1) in models:
            for operation in operations.values():
                for name in _models_of(operation):
                    models[m.group(1)] = name
    entities: dict[str, ModelEntity] = {}
    by_model: dict[str, str] = {}
    for name, model in models.items():
        fields, udfs = _fields(definitions.get(model, {}))
        entities[name] = ModelEntity(
            name,
            model,
            fields,
            _verbs(paths, f"/V1.0/{name}"),
            _verbs(paths, f"/V1.0/{name}/{{id}}"),
            f"/V1.0/{name}/query" in paths,
            udfs,
        )
        by_model[model] = name
    children = []
    for path, operations in paths.items():
        m = _CHILD.match(path)
        if not m or m.group(3):
            continue
        parent, segment = m.group(1), m.group(2)
        model = next(n for op in operations.values() for n in _models_of(op))
        entity = entities[by_model[model]]
        children.append(
            ModelChild(
                parent,
                segment,
                entity.name,
                _parent_field(entities.get(parent), entity, parent, segment),
                _verbs(paths, path),
                _verbs(paths, f"{path}/{{id}}"),
                f"{path}/entityInformation" in paths,
            )
        )
    return Catalogue(
        entities,
        tuple(children),
        {path: _verbs(paths, path) for path in paths},
    )


def _parent_field(
    parent: ModelEntity | None, child: ModelEntity, parent_name: str, segment: str
) -> str | None:
    override = _PARENT_FIELDS.get((parent_name, segment))
    if override is not None:
        return override
    names = {f.name.lower(): f.name for f in child.fields}
    stem = parent.model.removesuffix("Model") if parent is not None else ""
    for candidate in (f"{stem}ID".lower(), "parentid"):
        if candidate in names:
            return names[candidate]
    return None
