"""Map a request path (matched without regard to case) to the API operation it names.

One catch-all ASGI entry point with this table is simpler and faster than a router of
hundreds of case-variant patterns; it also decides the 405 answers ASP.NET would give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.simulator.schema import BY_ROUTE, CHILDREN, EntitySpec

_ZONE = re.compile(r"zone([0-9]{1,3})", re.ASCII)
_GET = frozenset({"GET"})
_QUERY = frozenset({"GET", "POST"})


@dataclass(frozen=True, slots=True)
class Route:
    """One resolved operation; `key` is the lower-case path below `/V1.0/` used by faults."""

    kind: str  # zone | version | threshold | entities | invoicepdf | entity | notfound
    shape: str = ""  # collection | item | query | count | next | info | fields | udfs | children
    zone: int | None = None
    entity: EntitySpec | None = None
    record_id: int | None = None
    parent: tuple[str, int] | None = None
    verbs: frozenset[str] = _GET
    key: str = ""

    @property
    def endpoint(self) -> str:
        """The object endpoint the thread limit counts against."""
        return self.entity.route if self.entity is not None else self.kind


NOT_FOUND = Route("notfound", verbs=frozenset())


# ASCII digits only: .NET's Int64 refuses other scripts' digits, which Python's int() takes.
_LONG = re.compile(r"[+-]?[0-9]{1,19}", re.ASCII)
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _int(text: str) -> int | None:
    """The id of a `{id}` segment as ASP.NET's `long` route binds it (a sign allowed), or None
    where no route matches (not a number, or outside Int64)."""
    if not _LONG.fullmatch(text):
        return None
    value = int(text)
    return value if _LONG_MIN <= value <= _LONG_MAX else None


def resolve(path: str) -> Route:
    """The operation for a URL path such as `/zone5/ATServicesRest/V1.0/Tickets/query`."""
    parts = [p for p in path.lower().split("/") if p]
    zone = None
    if parts and (m := _ZONE.fullmatch(parts[0])):
        zone = int(m.group(1))
        parts = parts[1:]
    if len(parts) < 2 or parts[0] != "atservicesrest":
        return NOT_FOUND
    if parts[1:] == ["versioninformation"]:
        return Route("version", zone=zone, key="versioninformation")
    if parts[1] not in ("v1.0", "v1") or len(parts) < 3:
        return NOT_FOUND
    rest = parts[2:]
    key = "/".join(rest)
    if rest == ["zoneinformation"]:
        return Route("zone", zone=zone, key=key)
    if rest == ["thresholdinformation"]:
        return Route("threshold", zone=zone, key=key)
    if rest == ["entityinformation"]:
        return Route("entities", zone=zone, key=key)
    if rest == ["invoicepdf"]:
        return Route("invoicepdf", zone=zone, key=key)
    return _entity_route(rest[0], rest[1:], zone, key)


def _entity_route(name: str, rest: list[str], zone: int | None, key: str) -> Route:
    """Root routes of the entity `name`, or the child routes below a record of it; the
    Swagger decides which exist and which verbs each takes."""

    def route(shape: str, verbs: frozenset[str], **kw: object) -> Route:
        return Route("entity", shape, zone, verbs=verbs, key=key, **kw)  # type: ignore[arg-type]

    entity = BY_ROUTE.get(name)
    if not rest or _info_shape(rest) or rest[0] == "query":
        if entity is None:
            return NOT_FOUND
        if not rest:
            if not entity.collection_verbs:
                return NOT_FOUND  # the Swagger has no such path at all
            return route("collection", entity.collection_verbs, entity=entity)
        if info := _info_shape(rest):
            return route(info, _GET, entity=entity)
        shape = {("query",): "query", ("query", "count"): "count", ("query", "next"): "next"}
        found = shape.get(tuple(rest))
        if found is None or not entity.queryable:
            return NOT_FOUND
        return route(found, _QUERY, entity=entity)
    record_id = _int(rest[0])
    if record_id is None:
        return NOT_FOUND
    if len(rest) == 1:
        if entity is None or not entity.item_verbs:
            return NOT_FOUND
        return route("item", entity.item_verbs, entity=entity, record_id=record_id)
    child = CHILDREN.get((name, rest[1]))
    if child is None:
        return NOT_FOUND
    parent = (child.parent_field or "", record_id)
    if len(rest) == 2:
        return route("children", child.collection_verbs, entity=child.entity, parent=parent)
    info = _info_shape(rest[2:])
    if info:
        if not child.has_info:
            return NOT_FOUND
        return route(info, _GET, entity=child.entity, parent=parent)
    child_id = _int(rest[2])
    if child_id is None or len(rest) != 3 or not child.item_verbs:
        return NOT_FOUND
    return route("item", child.item_verbs, entity=child.entity, record_id=child_id, parent=parent)


def _info_shape(rest: list[str]) -> str:
    if rest == ["entityinformation"]:
        return "info"
    if rest == ["entityinformation", "fields"]:
        return "fields"
    if rest == ["entityinformation", "userdefinedfields"]:
        return "udfs"
    return ""
