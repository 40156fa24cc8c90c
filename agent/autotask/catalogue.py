"""What the API offers, from the vendor's Swagger packaged with the program: each path's verbs
and each entity's fields, checked before a request is sent.

A call the Swagger has no path or verb for would only come back as 404 or 405, and a write
naming a field the entity's model lacks would be dropped silently by the server's model binder
(a typo reads as "description is required"). The client refuses both locally, with a clear
error and no request. The Swagger is read once, when first needed (about 60 ms).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent import api_description

_ENTITY_INFO = re.compile(r"^/V1\.0/([A-Za-z0-9]+)/entityInformation$")
_ROOT = re.compile(r"^/V1\.0/([A-Za-z0-9]+)(/query|/query/count|/\{id\})?$")
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
# Named in the models, but only the vendor's own code uses it; it is never data.
_INTERNAL = "soapparentpropertyid"


@dataclass(frozen=True)
class Catalogue:
    """Verbs by path template (`Tickets/{parentId}/Notes`, folded) and fields by entity."""

    verbs: dict[str, frozenset[str]]
    fields: dict[str, frozenset[str]]  # folded entity name -> folded property names
    # folded entity name -> folded names of its Int32 properties (a .NET `int`)
    int32: dict[str, frozenset[str]] = field(default_factory=dict)

    def verbs_of(self, template: str) -> frozenset[str]:
        return self.verbs.get(template.casefold(), frozenset())

    def fields_of(self, entity: str) -> frozenset[str] | None:
        """The entity's property names (folded), or None for an entity the Swagger lacks."""
        return self.fields.get(entity.casefold())

    def unknown_fields(self, entity: str, names: Iterable[str]) -> list[str]:
        """The names (as given) that are no property of `entity`; empty for an unknown
        entity, which the path check refuses instead."""
        known = self.fields_of(entity)
        if known is None:
            return []
        return [name for name in names if name.casefold() not in known]

    def int32_fields(self, entity: str) -> frozenset[str]:
        """The entity's properties (folded) that hold a .NET Int32; empty for an unknown one."""
        return self.int32.get(entity.casefold(), frozenset())


def _models_of(operation: dict[str, Any]) -> list[str]:
    schema = operation.get("responses", {}).get("200", {}).get("schema", {})
    refs = [schema.get("$ref")]
    refs += [p["schema"].get("$ref") for p in operation.get("parameters", []) if p["in"] == "body"]
    names = [ref.rsplit("/", 1)[-1] for ref in refs if isinstance(ref, str)]
    return [name for name in names if name not in _ENVELOPES]


def build(document: dict[str, Any]) -> Catalogue:
    """The catalogue of one Swagger document."""
    paths, definitions = document["paths"], document["definitions"]
    verbs = {
        path.removeprefix("/V1.0/").casefold(): frozenset(v.upper() for v in operations)
        for path, operations in paths.items()
    }
    models: dict[str, str] = {}
    for path in paths:
        if m := _ENTITY_INFO.match(path):
            models[m.group(1)] = ""
    for path, operations in paths.items():
        m = _ROOT.match(path)
        if m and m.group(1) in models:
            for operation in operations.values():
                for model in _models_of(operation):
                    models[m.group(1)] = model
    fields: dict[str, frozenset[str]] = {}
    int32: dict[str, frozenset[str]] = {}
    for entity, model in models.items():
        properties = definitions.get(model, {}).get("properties", {})
        fields[entity.casefold()] = frozenset(
            name.casefold() for name in properties if name.casefold() != _INTERNAL
        )
        int32[entity.casefold()] = frozenset(
            name.casefold()
            for name, prop in properties.items()
            if prop.get("type") == "integer" and prop.get("format") == "int32"
        )
    return Catalogue(verbs, fields, int32)


@functools.cache
def catalogue() -> Catalogue:
    """The packaged Swagger's catalogue (read once per process)."""
    return build(api_description.document())
