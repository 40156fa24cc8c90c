"""`AutotaskClient`: typed reads, queries, writes and metadata of one tenant's Autotask REST API.

Every call goes through `ApiSession` (credentials, zone, typed errors); this module knows the
shapes of Autotask's answers and turns them into ints, records and pages. Like the session, it
never retries.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, TypeVar, overload

import httpx

from agent.autotask import routes
from agent.autotask.attachments import attachment_body
from agent.autotask.catalogue import catalogue
from agent.autotask.convert import RequestContext, unexpected_answer
from agent.autotask.credentials import ApiCredentials
from agent.autotask.errors import (
    NotFoundError,
    UnknownFieldError,
    UnreadableRecordError,
    UnsupportedCallError,
)
from agent.autotask.metadata import (
    FieldInfo,
    PicklistValue,
    Threshold,
    threshold_from_wire,
)
from agent.autotask.paging import Page, PageItems, follow_next_pages, page_from_wire, pages_by_id
from agent.autotask.queries import MAX_RECORDS, FilterItem, Query
from agent.autotask.records import Record
from agent.autotask.screening import (
    MAX_ID,
    BadRecord,
    Screening,
    screen,
    screen_fields,
    server_time,
)
from agent.autotask.session import ApiSession, ClientOptions, SendHook, UploadHook
from agent.autotask.wire import JsonObject, WireTypeError, format_datetime, lookup
from agent.autotask.zones import Zone, ZoneListener

R = TypeVar("R", bound=Record)
Filter = FilterItem | Sequence[FilterItem] | None


class AutotaskClient:
    """One tenant's API, as one API user. `http` is owned (and closed) by the caller."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: ApiCredentials,
        *,
        options: ClientOptions | None = None,
        zone: Zone | None = None,
        on_zone_change: ZoneListener | None = None,
    ) -> None:
        self.session = ApiSession(
            http, credentials, options=options, zone=zone, on_zone_change=on_zone_change
        )
        self.call = self.session.call
        self._clock = (options or ClientOptions()).clock
        # Every record read is screened (`agent.autotask.screening`); what was skipped or
        # corrected waits here for the caller to take.
        self.screening = Screening()

    def __repr__(self) -> str:
        return f"AutotaskClient({self.session!r})"

    @property
    def zone(self) -> Zone | None:
        """The cached zone, or None until the first call (or after it was dropped)."""
        return self.session.zone

    async def rediscover_zone(self) -> Zone:
        return await self.session.rediscover_zone()

    def network_returned(self) -> None:
        """The network is back: a zone lookup that could not connect is tried again at once."""
        self.session.network_returned()

    def abandon_calls(self) -> None:
        """End every call under way now and refuse every later one (the program is closing)."""
        self.session.abandon_calls()

    @staticmethod
    def deadline(seconds: float | None) -> AbstractContextManager[None]:
        """Bounds every call made inside the block (in this task) to `seconds`."""
        return ApiSession.deadline(seconds)

    @staticmethod
    def sending(hook: SendHook | None) -> AbstractContextManager[None]:
        """Awaits `hook` (with the deadline in force) just before each write made inside the
        block (in this task) leaves."""
        return ApiSession.sending(hook)

    @staticmethod
    def reporting_upload(hook: UploadHook | None) -> AbstractContextManager[None]:
        """Streams each write's body made inside the block (in this task), calling
        `hook(sent, total)` as the connection takes its bytes."""
        return ApiSession.reporting_upload(hook)

    @property
    def clock_skew(self) -> float | None:
        """The server's clock minus ours in seconds, from the last answer's `Date` header."""
        return self.session.clock_skew

    # Reading --------------------------------------------------------------------------------

    @overload
    async def get(self, entity: type[R], record_id: int, parent_id: int | None = None) -> R: ...
    @overload
    async def get(
        self, entity: str, record_id: int, parent_id: int | None = None
    ) -> JsonObject: ...
    async def get(
        self, entity: str | type[Record], record_id: int, parent_id: int | None = None
    ) -> Any:
        """One record; `NotFoundError` for a 404 and for Autotask's `{"item": null}`."""
        name = _entity_of(entity)
        route = _offered("GET", routes.item_route(name, record_id, parent_id))
        payload = await self.call("GET", route.path, endpoint=route.endpoint)
        ctx = RequestContext.for_call("GET", route.endpoint)
        if not isinstance(payload, dict) or not _has_key(payload, "item"):
            raise unexpected_answer(ctx, "the answer holds no item")
        item = lookup(payload, "item")
        if item is None:
            raise NotFoundError(
                f"the record was not found ({ctx.where})",
                **ctx.fields(200, may_have_reached_server=False),
            )
        if not isinstance(item, dict):
            raise unexpected_answer(ctx, "the item is not an object")
        try:
            record, problems = screen(name, item, self.server_now())
        except BadRecord as bad:
            self.screening.note(bad.problem)
            raise UnreadableRecordError(
                f"Autotask's record cannot be used: {bad.problem.reason} ({ctx.where})",
                **ctx.fields(200, may_have_reached_server=False),
            ) from None
        for problem in problems:
            self.screening.note(problem)
        return _typed(entity, record, ctx)

    @overload
    def query(
        self,
        entity: type[R],
        filter: Filter = None,
        include_fields: Sequence[str] | None = None,
        max_records: int = MAX_RECORDS,
    ) -> AsyncIterator[R]: ...
    @overload
    def query(
        self,
        entity: str,
        filter: Filter = None,
        include_fields: Sequence[str] | None = None,
        max_records: int = MAX_RECORDS,
    ) -> AsyncIterator[JsonObject]: ...
    async def query(
        self,
        entity: str | type[Record],
        filter: Filter = None,
        include_fields: Sequence[str] | None = None,
        max_records: int = MAX_RECORDS,
    ) -> AsyncIterator[Any]:
        """Every record matching `filter`, following `nextPageUrl` to the last page.

        `max_records` is the page size. The query goes by GET while its URL stays short and by
        POST otherwise; a POST query's next pages are POSTed again with the same body, since
        Autotask answers a GET there with 405.
        """
        name = _entity_of(entity)
        query = Query.of(filter, include_fields, max_records)
        route = _offered("GET", routes.query_route(name))
        ctx = RequestContext.for_call("GET", route.endpoint, is_write=False)
        async for page in follow_next_pages(
            lambda: self._query_page(route, query),
            lambda url: self._next_page(route, query, url),
            ctx,
        ):
            for item in self.screening.records(name, page, self.server_now()):
                yield _typed(entity, item, ctx)

    async def query_by_id_pages(
        self,
        entity: str | type[Record],
        filter: Filter = None,
        include_fields: Sequence[str] | None = None,
        max_records: int = MAX_RECORDS,
    ) -> AsyncIterator[list[JsonObject]]:
        """Pages of raw (screened) records, each fetched as `filter and id gt <largest id so
        far>`; a page may come out empty when the screening skipped all of it."""
        if include_fields is not None and not any(f.casefold() == "id" for f in include_fields):
            include_fields = ["id", *include_fields]  # the loop steers by id
        name = _entity_of(entity)
        query = Query.of(filter, include_fields, max_records)
        route = _offered("GET", routes.query_route(name))
        ctx = RequestContext.for_call("GET", route.endpoint, is_write=False)
        async for page in pages_by_id(lambda q: self._query_page(route, q), query, ctx):
            kept = PageItems(self.screening.records(name, page, self.server_now()))
            kept.last = getattr(page, "last", False)  # no request follows the last page
            yield kept

    def server_now(self) -> datetime:
        """The server's clock as its last answer's `Date` showed it (ours when none did)."""
        skew = self.session.skew_now()
        return server_time(self._clock.now(), None if skew is None else skew[0])

    async def count(self, entity: str | type[Record], filter: Filter = None) -> int:
        route = _offered("GET", routes.query_route(_entity_of(entity), count=True))
        payload = await self._send_query(route, Query.of(filter))
        value = lookup(payload, "queryCount") if isinstance(payload, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise unexpected_answer(RequestContext.for_call("GET", route.endpoint), "no queryCount")
        return value

    def _query_uses_get(self, route: routes.Route, query: Query) -> tuple[bool, str]:
        search = json.dumps(query.to_wire(), separators=(",", ":"))
        return self.session.get_url_fits(route.path, search), search

    async def _send_query(self, route: routes.Route, query: Query) -> Any:
        use_get, search = self._query_uses_get(route, query)
        if use_get:
            return await self.call(
                "GET", route.path, endpoint=route.endpoint, params={"search": search}
            )
        return await self.call(
            "POST", route.path, endpoint=route.endpoint, body=query.to_wire(), is_write=False
        )

    async def _query_page(self, route: routes.Route, query: Query) -> Page:
        payload = await self._send_query(route, query)
        return page_from_wire(payload, RequestContext.for_call("GET", route.endpoint))

    async def _next_page(self, route: routes.Route, query: Query, url: str) -> Page:
        use_get, _ = self._query_uses_get(route, query)
        endpoint = f"{route.endpoint}/next"
        if use_get:
            payload = await self.call("GET", "", endpoint=endpoint, absolute_url=url)
        else:
            payload = await self.call(
                "POST",
                "",
                endpoint=endpoint,
                absolute_url=url,
                body=query.to_wire(),
                is_write=False,
            )
        return page_from_wire(payload, RequestContext.for_call("GET", endpoint))

    @overload
    async def children(self, entity: type[R], parent_id: int) -> list[R]: ...
    @overload
    async def children(self, entity: str, parent_id: int) -> list[JsonObject]: ...
    async def children(self, entity: str | type[Record], parent_id: int) -> list[Any]:
        """Every record of a child entity under one parent: `Tickets/7/ChecklistItems`."""
        name = _entity_of(entity)
        if name not in routes.CHILD_ROUTES:
            raise ValueError(f"{name} is not read under a parent record")
        route = _offered("GET", routes.collection_route(name, parent_id))
        payload = await self.call("GET", route.path, endpoint=route.endpoint)
        ctx = RequestContext.for_call("GET", route.endpoint)
        page = page_from_wire(payload, ctx)
        return [
            _typed(entity, item, ctx)
            for item in self.screening.records(name, page.items, self.server_now())
        ]

    # Writing --------------------------------------------------------------------------------

    async def attach(
        self,
        ticket_id: int,
        file_name: str,
        data: bytes,
        *,
        title: str | None = None,
        publish: int = 1,
    ) -> int:
        """Attaches a file to a ticket and returns the attachment's id.

        A file above `MAX_ATTACHMENT_BYTES` raises `AttachmentTooLargeError` before anything is
        sent; past the integration's attachment budget the server refuses with
        `AttachmentQuotaError` (wait its `retry_after`).
        """
        body = attachment_body(file_name, data, title=title, publish=publish)
        return await self.create("TicketAttachments", body, parent_id=ticket_id)

    async def create(
        self,
        entity: str | type[Record],
        fields: Mapping[str, Any] | Record,
        parent_id: int | None = None,
    ) -> int:
        """Creates one record and returns its new id. Child entities go under their parent."""
        name = _entity_of(entity)
        body = fields.to_wire(omit_none=True) if isinstance(fields, Record) else _to_wire(fields)
        if parent_id is None:
            parent_id = routes.parent_id_of(name, body)
        child = routes.CHILD_ROUTES.get(name)
        if child is not None and parent_id is not None and lookup(body, child.parent_field) is None:
            body[child.parent_field] = parent_id
        route = routes.collection_route(name, parent_id)
        return await self._write("POST", name, route, body)

    async def update(
        self,
        entity: str | type[Record],
        record_id: int,
        changed_fields: Mapping[str, Any],
        parent_id: int | None = None,
    ) -> int:
        """PATCHes only `changed_fields` (wire names) of one record; returns its id."""
        if not changed_fields:
            raise ValueError("an update needs at least one changed field")
        return await self._write_existing("PATCH", entity, record_id, changed_fields, parent_id)

    async def replace(
        self,
        entity: str | type[Record],
        record_id: int,
        fields: Mapping[str, Any],
        parent_id: int | None = None,
    ) -> int:
        """PUTs a whole record: Autotask sets every writable field left out to null."""
        return await self._write_existing("PUT", entity, record_id, fields, parent_id)

    async def delete(
        self, entity: str | type[Record], record_id: int, parent_id: int | None = None
    ) -> None:
        name = _entity_of(entity)
        if name in routes.CHILD_ROUTES and parent_id is None:
            raise ValueError(f"deleting {name} needs the id of its parent record")
        route = _offered("DELETE", routes.item_route(name, record_id, parent_id))
        await self.call("DELETE", route.path, endpoint=route.endpoint)

    async def _write_existing(
        self,
        method: str,
        entity: str | type[Record],
        record_id: int,
        fields: Mapping[str, Any],
        parent_id: int | None,
    ) -> int:
        name = _entity_of(entity)
        body = _to_wire(fields)
        stated = lookup(body, "id")
        if stated is not None and stated != record_id:
            raise ValueError("the fields name a different record id")
        body = {"id": record_id, **{k: v for k, v in body.items() if k.casefold() != "id"}}
        route = routes.collection_route(name, parent_id)
        return await self._write(method, name, route, body)

    async def _write(self, method: str, name: str, route: routes.Route, body: JsonObject) -> int:
        """Sends one write of `name`, once the Swagger shows its verb and every field named."""
        _offered(method, route)
        unknown = catalogue().unknown_fields(name, body)
        if unknown:
            message = f"{name} has no field '{unknown[0]}'; nothing was sent"
            raise UnknownFieldError(
                message,
                entity=name,
                field=unknown[0],
                messages=[message],
                method=method,
                endpoint=route.endpoint,
                is_write=True,
            )
        payload = await self.call(method, route.path, endpoint=route.endpoint, body=body)
        item_id = lookup(payload, "itemId") if isinstance(payload, dict) else None
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            ctx = RequestContext.for_call(method, route.endpoint)
            raise unexpected_answer(
                ctx, "the change was accepted without an itemId", write_landed=True
            )
        if not 0 < item_id <= MAX_ID:  # the record exists; reconciliation finds its real id
            ctx = RequestContext.for_call(method, route.endpoint)
            raise unexpected_answer(
                ctx, "the change was accepted with an itemId out of range", write_landed=True
            )
        return item_id

    # Metadata -------------------------------------------------------------------------------

    async def field_info(self, entity: str | type[Record]) -> list[FieldInfo]:
        route = _offered("GET", routes.fields_route(_entity_of(entity)))
        payload = await self.call("GET", route.path, endpoint=route.endpoint)
        ctx = RequestContext.for_call("GET", route.endpoint)
        fields = lookup(payload, "fields") if isinstance(payload, dict) else None
        if not isinstance(fields, list):
            raise unexpected_answer(ctx, "no field list")
        # A description or picklist value that cannot be read is left out and noted.
        kept, problems = screen_fields(_entity_of(entity), fields)
        for problem in problems:
            self.screening.note(problem)
        return kept

    async def picklists(self, entity: str | type[Record]) -> dict[str, list[PicklistValue]]:
        """Each picklist field's values, keyed by field name (values differ per tenant)."""
        return {
            f.name: list(f.picklist_values) for f in await self.field_info(entity) if f.is_picklist
        }

    async def threshold(self) -> Threshold:
        """The tenant's quota and its use so far (this call itself counts)."""
        payload = await self.call("GET", "ThresholdInformation", endpoint="ThresholdInformation")
        try:
            return threshold_from_wire(payload)
        except WireTypeError as exc:
            ctx = RequestContext.for_call("GET", "ThresholdInformation")
            raise unexpected_answer(ctx, str(exc)) from None

    async def version(self) -> list[str]:
        """The API versions the zone offers, e.g. ["1.0"]."""
        payload = await self.call("GET", "../VersionInformation", endpoint="VersionInformation")
        versions = lookup(payload, "apiVersions") if isinstance(payload, dict) else None
        if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
            raise unexpected_answer(
                RequestContext.for_call("GET", "VersionInformation"), "no apiVersions"
            )
        return list(versions)


def _offered(method: str, route: routes.Route) -> routes.Route:
    """`route` when the Swagger offers `method` on its path; else `UnsupportedCallError`."""
    verbs = catalogue().verbs_of(route.endpoint)
    if method in verbs:
        return route
    offered = ", ".join(sorted(verbs))
    message = f"Autotask's API has no {method} {route.endpoint}" + (
        f" (that path takes {offered})" if offered else " (no such path)"
    )
    raise UnsupportedCallError(
        message,
        messages=[message],
        method=method,
        endpoint=route.endpoint,
        is_write=method != "GET",
    )


def _entity_of(entity: str | type[Record]) -> str:
    return routes.entity_name(entity if isinstance(entity, str) else entity.ENTITY)


def _has_key(payload: Mapping[str, Any], name: str) -> bool:
    return any(isinstance(k, str) and k.casefold() == name.casefold() for k in payload)


def _to_wire(fields: Mapping[str, Any]) -> JsonObject:
    return {k: format_datetime(v) if isinstance(v, datetime) else v for k, v in fields.items()}


def _typed(entity: str | type[Record], item: JsonObject, ctx: RequestContext) -> Any:
    if isinstance(entity, str):
        return item
    try:
        return entity.from_wire(item)
    except WireTypeError as exc:
        raise unexpected_answer(ctx, str(exc)) from None
