"""Walking a query to its end: by `nextPageUrl`, or by asking again for `id gt <largest seen>`.

Both loops refuse to spin: a repeated next-page URL or an id that does not grow is a
`ProtocolError`, not an endless stream of requests against the tenant's quota.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agent.autotask.convert import RequestContext, unexpected_answer
from agent.autotask.queries import Query, gt
from agent.autotask.wire import lookup


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_url: str | None


class PageItems(list[Any]):
    """One page's records; `last` says no request follows it (so a caller that paces each
    request does not pace, nor count, the step that only finds the end)."""

    last: bool = False


def page_from_wire(payload: object, ctx: RequestContext) -> Page:
    """Reads `{"items": [...], "pageDetails": {"nextPageUrl": ...}}`."""
    if not isinstance(payload, dict):
        raise unexpected_answer(ctx, "a query answer should be an object")
    items = lookup(payload, "items")
    if not isinstance(items, list):
        raise unexpected_answer(ctx, "a query answer should hold a list of records")
    # A single item that is no record is the screening's to skip (`agent.autotask.screening`).
    details = lookup(payload, "pageDetails")
    next_url = lookup(details, "nextPageUrl") if isinstance(details, dict) else None
    if next_url is not None and not isinstance(next_url, str):
        raise unexpected_answer(ctx, "a query answer has an unreadable next page address")
    return Page(items, next_url or None)


async def follow_next_pages(
    first: Callable[[], Awaitable[Page]],
    next_page: Callable[[str], Awaitable[Page]],
    ctx: RequestContext,
) -> AsyncIterator[list[Any]]:
    """Yields each page's records, following `nextPageUrl` until the server gives none."""
    page = await first()
    seen: set[str] = set()
    while True:
        if page.items:
            yield page.items
        if page.next_url is None:
            return
        if page.next_url in seen:
            raise unexpected_answer(ctx, "the server sent the same next page twice")
        seen.add(page.next_url)
        page = await next_page(page.next_url)


def _largest_id(items: list[Any]) -> int | None:
    """The largest whole-number id of a page (records without one are left to the screening)."""
    ids = [lookup(item, "id") for item in items if isinstance(item, dict)]
    return max((i for i in ids if isinstance(i, int) and not isinstance(i, bool)), default=None)


async def pages_by_id(
    fetch: Callable[[Query], Awaitable[Page]], query: Query, ctx: RequestContext
) -> AsyncIterator[list[Any]]:
    """Yields pages by re-querying for ids above the largest seen (results come sorted by id).

    Unlike next-page URLs, this survives a restart between pages (the caller keeps the id) and
    never builds a long URL. A page without `nextPageUrl` is the last one.
    """
    last_id: int | None = None
    while True:
        page = await fetch(query if last_id is None else query.with_filter(gt("id", last_id)))
        if not page.items:
            return
        largest = _largest_id(page.items)
        if largest is None and page.next_url is not None:
            raise unexpected_answer(ctx, "a page without a numeric id to go on from")
        if last_id is not None and largest is not None and largest <= last_id:
            raise unexpected_answer(ctx, "the server returned records it had already sent")
        items = PageItems(page.items)
        items.last = page.next_url is None or largest is None
        yield items
        if items.last:
            return
        last_id = largest
