"""Sending one request and reading its whole answer within a size cap and an overall deadline.

httpx's own timeouts are per phase (a server dripping one byte a second never trips the read
timeout) and the in-process ASGI transport ignores them, so a total deadline backs them up here.
The body is streamed so an oversized answer is cut off instead of filling memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from agent.autotask.convert import RequestContext, converting_transport_errors, timeout_error
from agent.autotask.errors import ProtocolError, RedirectRefusedError
from agent.security.trust import shown_url

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer: status, headers and the whole body."""

    status: int
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True)
class SendLimits:
    """`deadline` bounds a whole call in seconds (None: only httpx's timeouts apply)."""

    deadline: float | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


async def send(
    http: httpx.AsyncClient, request: httpx.Request, ctx: RequestContext, limits: SendLimits
) -> Answer:
    """Sends `request` and reads its answer; every failure is an `AutotaskError`."""
    try:
        async with asyncio.timeout(limits.deadline):
            return await _send(http, request, ctx, limits.max_response_bytes)
    except TimeoutError:
        # The deadline can only pass once the request is on its way; treat it as a read timeout.
        raise timeout_error(ctx, "read") from None


async def _send(
    http: httpx.AsyncClient, request: httpx.Request, ctx: RequestContext, max_bytes: int
) -> Answer:
    with converting_transport_errors(ctx):
        # Never followed, whatever the client says: the credentials would go along with it.
        response = await http.send(request, stream=True, follow_redirects=False)
        try:
            if response.is_redirect:
                raise _redirected(ctx, response)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(ctx, response.status_code)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(ctx, response.status_code)
                chunks.append(chunk)
        finally:
            await response.aclose()
    return Answer(response.status_code, response.headers, b"".join(chunks))


def _redirected(ctx: RequestContext, response: httpx.Response) -> RedirectRefusedError:
    where = ctx.scrub(shown_url(response.headers.get("location", ""))) or "another address"
    server = response.request.url.host or "the server"
    return RedirectRefusedError(
        f"The server at {server} redirected the request (HTTP {response.status_code}) to "
        f"{where}. Field Sync does not follow redirects, since your credentials would go "
        f"along, so nothing was sent there ({ctx.where}). If the address has moved, set the new "
        "one (or ask your administrator).",
        **ctx.fields(response.status_code, may_have_reached_server=ctx.is_write),
    )


def _too_large(ctx: RequestContext, status: int) -> ProtocolError:
    return ProtocolError(
        f"Autotask's answer is too large to read ({ctx.where})",
        **ctx.fields(status, may_have_reached_server=ctx.is_write),
    )
