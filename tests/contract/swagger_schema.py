"""The vendor's Swagger definitions as Draft 4 JSON Schema, to validate answers against.

Swagger 2.0 names properties in PascalCase; the API sends camelCase and matches names without
regard to case, so property names and instances are both compared lower-cased. Every value may
be null, as the API sends unset fields. Models are closed: a property the model does not have
fails validation.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from agent.simulator import swagger

# .NET `object` and the filter's value wrapper carry any JSON value on the wire.
ANY_VALUE = {"Object", "ValueItem"}


def _convert(node: Any, closed: bool) -> Any:
    if isinstance(node, list):
        return [_convert(n, closed) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("readOnly", "format", "enum"):
            continue
        if key == "properties":
            out[key] = {name.lower(): _nullable(_convert(v, closed)) for name, v in value.items()}
        elif key == "$ref":
            out[key] = value
        else:
            out[key] = _convert(value, closed)
    if closed and "properties" in out:
        out["additionalProperties"] = False
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def definitions(closed: bool = True) -> dict[str, Any]:
    return {
        name: {} if name in ANY_VALUE else _convert(d, closed)
        for name, d in swagger.document()["definitions"].items()
    }


_CLOSED = definitions()
jsonschema.Draft4Validator.check_schema({"definitions": _CLOSED})
_VALIDATORS: dict[str, jsonschema.Draft4Validator] = {}


def lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k.lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def validate(instance: Any, definition: str) -> None:
    """Validate against one Swagger definition (cached validator per definition)."""
    validator = _VALIDATORS.get(definition)
    if validator is None:
        schema = {"$ref": f"#/definitions/{definition}", "definitions": _CLOSED}
        validator = _VALIDATORS[definition] = jsonschema.Draft4Validator(schema)
    validator.validate(lower_keys(instance))


def swagger_verbs(path: str) -> frozenset[str]:
    """The verbs the Swagger lists for a path such as `/V1.0/Tickets/{id}` (any case)."""
    wanted = path.lower()
    for known, verbs in swagger.catalogue().paths.items():
        if known.lower() == wanted:
            return verbs
    return frozenset()
