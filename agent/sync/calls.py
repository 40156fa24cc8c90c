"""Every Autotask call the engine makes, passed through the resilience pipeline and counted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx

from agent.autotask import AutotaskClient
from agent.autotask.queries import FilterItem
from agent.resilience.bulkhead import Kind
from agent.resilience.pipeline import Pipeline

T = TypeVar("T")
_END = object()


class ApiCaller:
    def __init__(
        self,
        client: AutotaskClient,
        pipeline: Pipeline,
        on_call: Callable[[str, float], None] | None = None,
    ) -> None:
        self.client = client
        self.pipeline = pipeline
        self.api_calls = 0
        self.on_call = on_call  # (endpoint, seconds) of every call that reached the API

    async def call(
        self, endpoint: str, kind: Kind, fn: Callable[[], Awaitable[T]], op_id: int | None = None
    ) -> T:
        """One call, bounded by the pipeline's adaptive timeout for its endpoint."""

        async def bounded(limits: httpx.Timeout) -> T:
            started = self.pipeline.clock.monotonic()
            try:
                with self.client.deadline((limits.connect or 10.0) + (limits.read or 30.0)):
                    return await fn()
            finally:
                if self.on_call is not None:
                    self.on_call(endpoint, self.pipeline.clock.monotonic() - started)

        self.api_calls += 1
        return await self.pipeline.call(
            endpoint=endpoint, kind=kind, fn=bounded, op_id=None if op_id is None else str(op_id)
        )

    async def refresh_usage(self) -> None:
        """Take the tenant's usage reading if it is due (it decides what the pipeline sheds)."""
        await self.pipeline.refresh_usage()

    async def pages(
        self, endpoint: str, kind: Kind, pages: AsyncIterator[list[dict[str, Any]]]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of a paged query as its own pipeline call (so pacing and breakers see it)."""

        async def next_page() -> Any:
            try:
                return await anext(pages)
            except StopAsyncIteration:
                return _END

        while True:
            page = await self.call(endpoint, kind, next_page)
            if page is _END:
                return
            yield page
            if getattr(page, "last", False):
                return  # the end is known: asking for it would cost a paced call

    async def query_all(
        self, endpoint: str, kind: Kind, filter: FilterItem | list[FilterItem]
    ) -> list[dict[str, Any]]:
        """Every record matching `filter`, paging by id."""
        out: list[dict[str, Any]] = []
        async for page in self.pages(
            endpoint, kind, self.client.query_by_id_pages(endpoint, filter)
        ):
            out.extend(page)
        return out
