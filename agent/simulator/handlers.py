"""The entity operations: get by id, query, count, next page, child lists, writes, deletes."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from agent.clock import Clock
from agent.simulator import deletes, impersonation, writes
from agent.simulator.attachments import (
    QUOTA,
    WINDOW_BYTES,
    WINDOW_SECONDS,
    AttachmentBudget,
)
from agent.simulator.auth import Caller
from agent.simulator.faults import Faults
from agent.simulator.metadata import entity_information, field_information, udf_information
from agent.simulator.query import Query, QueryError, decode_search, parse_query
from agent.simulator.routing import Route
from agent.simulator.schema import ENTITIES, EntitySpec
from agent.simulator.tenant import Record, Tenant
from agent.simulator.wire import Reply, Request, errors, method_not_allowed


@dataclass(slots=True)
class Call:
    """Everything one operation needs."""

    request: Request
    route: Route
    caller: Caller
    faults: Faults
    clock: Clock
    attachments: AttachmentBudget

    @property
    def tenant(self) -> Tenant:
        return self.caller.tenant

    @property
    def spec(self) -> EntitySpec:
        assert self.route.entity is not None
        return self.route.entity

    def visible(self, record: Record) -> bool:
        """False while a new record is still inside an injected read-after-write lag."""
        lag = self.faults.lag_for(self.spec.route.lower()) if self.faults.rules else 0.0
        if lag <= 0:
            return True
        created = self.tenant.created_at.get((self.spec.route, record["id"]))
        return created is None or self.clock.monotonic() - created >= lag


def handle(call: Call) -> Reply:
    refused = impersonation.refusal(call.caller, call.route, call.request.method)
    if refused is not None:
        return refused
    if call.route.kind == "entities":
        described = [entity_information(call.tenant, spec) for spec in ENTITIES]
        return Reply(200, {"entityDescriptions": described})
    if call.route.kind == "invoicepdf":
        # The demo tenant has not invoiced anything yet.
        return errors(404, f"Invoice {call.request.query().get('id', '')} was not found.")
    shape, method = call.route.shape, call.request.method
    if shape == "item":
        return delete(call) if method == "DELETE" else get_item(call)
    if shape in ("query", "count", "next"):
        try:
            return query(call)
        except QueryError as exc:
            return errors(500, exc.message)
    if shape == "info":
        return Reply(200, entity_information(call.tenant, call.spec))
    if shape == "fields":
        return Reply(200, field_information(call.tenant, call.spec))
    if shape == "udfs":
        return Reply(200, udf_information(call.tenant, call.spec))
    if shape == "children" and method == "GET":
        return children(call)
    return write(call)


def get_item(call: Call) -> Reply:
    """`{"item": ...}`. A missing id answers `{"item": null}` with 200 or a 404, as the
    entity's rule says (the real API does both); a record hidden by read lag answers 404."""
    assert call.route.record_id is not None
    record = call.tenant.records[call.spec.route].get(call.route.record_id)
    parent = call.route.parent
    if record is not None and parent is not None and record.get(parent[0]) != parent[1]:
        record = None
    missing = record is None and call.spec.missing_answers_404
    if missing or (record is not None and not call.visible(record)):
        return errors(404, f"{call.spec.type_name} {call.route.record_id} was not found.")
    return Reply(200, {"item": record})


def _listed(spec: EntitySpec, records: list[Record]) -> list[Record]:
    """Records as lists show them: an attachment's file comes only with the attachment."""
    if "data" not in spec.by_lower or not spec.route.endswith("Attachments"):
        return records
    return [{**r, "data": None} for r in records]


def _matches(call: Call, q: Query) -> Iterator[Record]:
    predicate, visible = q.predicate, call.visible
    lagging = bool(call.faults.rules)
    for record in call.tenant.records[call.spec.route].values():
        if predicate(record) and (not lagging or visible(record)):
            yield record


def _query_body(call: Call) -> tuple[Any, str | None]:
    if call.request.method == "GET":
        search = call.request.query().get("search")
        if search is None:
            raise QueryError("The search parameter is required.")
        return decode_search(search), search
    try:
        return call.request.json(), None
    except (ValueError, RecursionError) as exc:
        raise QueryError("Invalid query syntax: the body is not valid JSON.") from exc


def query(call: Call) -> Reply:
    token: dict[str, Any] | None = None
    if call.route.shape == "next":
        # The token decides the verb: a POSTed query's next page must be POSTed again.
        token = _read_token(call.request.query().get("paging", ""))
        if token is None or token.get("e") != call.spec.route:
            raise QueryError("The paging token is not valid.")
        if token.get("m") != call.request.method:
            return method_not_allowed(call.request.method, frozenset({str(token.get("m"))}))
    raw, search = _query_body(call)
    q = parse_query(call.spec, call.tenant.udf_names(call.spec.route), raw)
    digest = hashlib.sha256(q.digest.encode()).hexdigest()[:16]
    if call.route.shape == "count":
        return Reply(200, {"queryCount": sum(1 for _ in _matches(call, q))})
    after = 0
    if token is not None:
        if token.get("d") != digest:
            raise QueryError("The query does not match the one the paging token was made for.")
        after = int(token.get("a", 0))
    found = [r for r in _matches(call, q)]
    start = next((i for i, r in enumerate(found) if r["id"] > after), len(found))
    page = found[start : start + q.max_records]
    more = start + q.max_records < len(found)
    page = _listed(call.spec, page)
    items = page if q.include_fields is None else [_trim(r, q.include_fields) for r in page]

    def link(after_id: int) -> str:
        paging = _make_token(call.spec.route, call.request.method, digest, after_id)
        url = f"{_base(call)}/V1.0/{call.spec.route}/query/next?paging={paging}"
        return url + (f"&search={quote(search)}" if search is not None else "")

    prev = None
    if start > 0:
        prev_start = max(0, start - q.max_records)
        prev = link(found[prev_start - 1]["id"] if prev_start > 0 else 0)
    details = {
        "count": len(items),
        "requestCount": q.max_records,
        "prevPageUrl": prev,
        "nextPageUrl": link(page[-1]["id"]) if more else None,
    }
    return Reply(200, {"items": items, "pageDetails": details})


def _trim(record: Record, fields: tuple[str, ...]) -> Record:
    trimmed = {name: record.get(name) for name in fields}
    if "userDefinedFields" in record:
        trimmed["userDefinedFields"] = []
    return trimmed


def _base(call: Call) -> str:
    zone = call.route.zone
    prefix = f"/zone{zone}" if zone is not None else ""
    return f"{call.request.origin}{prefix}/ATServicesRest"


def _make_token(entity: str, method: str, digest: str, after: int) -> str:
    data = json.dumps({"e": entity, "m": method, "d": digest, "a": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _read_token(text: str) -> dict[str, Any] | None:
    try:
        padded = text + "=" * (-len(text) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return data if isinstance(data, dict) and isinstance(data.get("a"), int) else None
    except (ValueError, TypeError):
        return None


def children(call: Call) -> Reply:
    assert call.route.parent is not None
    field, parent_id = call.route.parent
    items = _listed(
        call.spec,
        [
            r
            for r in call.tenant.records[call.spec.route].values()
            if r.get(field) == parent_id and call.visible(r)
        ],
    )
    details = {"count": len(items), "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}
    return Reply(200, {"items": items, "pageDetails": details})


class _OverBudget(Exception):
    """Internal signal: the attachment budget refuses an otherwise valid file."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


def write(call: Call) -> Reply:
    try:
        body = call.request.json()
    except (ValueError, RecursionError):
        return errors(500, "The request body is not valid JSON.")
    budget, code = call.attachments, call.caller.integration_code
    counted = call.request.method == "POST" and call.spec.route.endswith("Attachments")
    size = 0

    def admit(record: Record) -> None:
        # Only a create that passed every rule is weighed against the budget (and counted).
        nonlocal size
        size = _file_size(record)
        wait = budget.refusal(code, size) if size else None
        if wait is not None:
            raise _OverBudget(wait)

    try:
        item_id = writes.write(
            call.tenant,
            call.spec.route,
            call.request.method,
            body,
            call.caller.actor,
            call.route.parent,
            admit if counted else None,
        )
    except writes.WriteError as exc:
        return errors(500, *exc.messages)
    except _OverBudget as over:
        minutes = round(WINDOW_SECONDS / 60)
        reply = errors(429, QUOTA.format(limit=WINDOW_BYTES, minutes=minutes))
        reply.headers.append((b"retry-after", str(max(1, math.ceil(over.wait))).encode()))
        return reply
    if size:
        budget.record(code, size)
    return Reply(200, {"itemId": item_id})


def _file_size(record: Record) -> int:
    """The size of a validated attachment's file, as the rule measured it (0 for a link)."""
    return int(record.get("fileSize") or 0)


def delete(call: Call) -> Reply:
    assert call.route.record_id is not None
    try:
        item_id = deletes.delete(
            call.tenant, call.spec.route, call.route.record_id, call.route.parent
        )
    except writes.WriteError as exc:
        return errors(500, *exc.messages)
    return Reply(200, {"itemId": item_id})
