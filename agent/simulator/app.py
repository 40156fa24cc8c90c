"""The ASGI application: routing, authentication, zones, limits and faults around each operation.

A plain ASGI callable rather than a Starlette router: every path is matched without regard to
case through one table (`routing.resolve`), and skipping the framework layers keeps GET-by-id
well above a thousand requests a second.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import httpx

from agent.simulator import handlers
from agent.simulator.auth import NOT_HOSTED, Caller, Refusal, authenticate
from agent.simulator.faults import FaultRule
from agent.simulator.routing import Route, resolve
from agent.simulator.wire import JSON_TYPE, Reply, Request, errors, method_not_allowed, not_found
from agent.simulator.zones import zone_information

if TYPE_CHECKING:
    from agent.simulator.simulator import Simulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

THREADS_EXCEEDED = "Thread Threshold Exceeded"
THRESHOLD_EXCEEDED = "The request threshold for this database has been exceeded."


class ConnectionDrop(Exception):
    """Internal signal: end the exchange without an answer."""


class SimulatorApp:
    """The simulator's ASGI application (`sim.app`)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await _read(scope, receive)
        try:
            if request.path.lower().startswith("/_sim/"):
                reply = await self.sim.control.handle(request)
            else:
                reply = await self.serve(request, receive)
        except ConnectionDrop:
            await _drop(send)
            return
        # Stamped by the simulated server's own clock (a client measures its skew from it).
        date = format_datetime(self.sim.clock.now().astimezone(UTC), usegmt=True).encode()
        await _send(send, reply, date)

    async def serve(self, request: Request, receive: Receive) -> Reply:
        route = resolve(request.path)
        if route.kind == "notfound":
            return not_found(request.path)
        if request.method not in route.verbs:
            return method_not_allowed(request.method, route.verbs)
        if route.kind == "zone":
            return await self.faulted(request, route, receive, lambda: self.zone(request))
        if route.kind == "version":
            return await self.faulted(
                request, route, receive, lambda: Reply(200, {"apiVersions": ["1.0"]})
            )
        caller = authenticate(self.sim.directory, request.headers)
        if isinstance(caller, Refusal):
            return errors(caller.status, *caller.errors)
        if route.zone != caller.tenant.zone:
            return errors(500, NOT_HOSTED)
        return await self.limited(request, route, caller, receive)

    def zone(self, request: Request) -> Reply:
        username = request.query().get("user", "")
        found = self.sim.directory.find_user(username) if username else None
        if found is None:
            return errors(500, "Zone information could not be determined")
        return Reply(200, zone_information(found[0].zone, request.origin))

    async def limited(
        self, request: Request, route: Route, caller: Caller, receive: Receive
    ) -> Reply:
        limits, tenant = self.sim.limits, caller.tenant.name
        if route.kind == "threshold":
            limits.admit(tenant)
            return Reply(
                200,
                {
                    "externalRequestThreshold": limits.threshold,
                    "requestThresholdTimeframe": limits.timeframe_minutes,
                    "currentTimeframeRequestCount": limits.usage(tenant),
                },
            )
        wait = limits.admit(tenant)
        if wait is not None:
            retry_after = str(max(1, math.ceil(wait))).encode()
            return Reply(429, {"errors": [THRESHOLD_EXCEEDED]}, [(b"retry-after", retry_after)])
        endpoint = route.endpoint
        if not limits.enter(caller.integration_code, endpoint):
            return errors(429, THREADS_EXCEEDED)
        try:
            delay = limits.service_delay() + limits.delay(tenant)
            if delay > 0:
                await self.sim.clock.sleep(delay)
            call = handlers.Call(
                request, route, caller, self.sim.faults, self.sim.clock, limits.attachments
            )
            return await self.faulted(request, route, receive, lambda: handlers.handle(call))
        finally:
            limits.leave(caller.integration_code, endpoint)

    async def faulted(
        self, request: Request, route: Route, receive: Receive, operation: Callable[[], Reply]
    ) -> Reply:
        faults = self.sim.faults
        if not faults.rules:
            return operation()
        key, verb = route.key, request.method
        for rule in faults.fire(("latency",), key, verb):
            await self.sim.clock.sleep(faults.delay_of(rule))
        if faults.fire(("hang",), key, verb):
            await _hold(faults.release_signal().wait(), receive)
        if faults.fire(("reset",), key, verb):
            raise ConnectionDrop
        failed = faults.fire(("error",), key, verb)
        if failed:
            reply = errors(failed[0].status, failed[0].message)
            if failed[0].status == 429 and failed[0].seconds > 0:
                reply.headers.append((b"retry-after", str(math.ceil(failed[0].seconds)).encode()))
            return reply
        reply = operation()
        if faults.fire(("drop",), key, verb):
            raise ConnectionDrop
        return _post_faults(faults.fire(("malformed", "huge"), key, verb), reply)


def _post_faults(rules: list[FaultRule], reply: Reply) -> Reply:
    for rule in rules:
        body = reply.encode()
        if rule.kind == "malformed":
            return Reply(200, raw=body[: max(1, len(body) // 2)])
        if body.startswith(b"{"):
            filler = b'"padding":"' + b"x" * max(0, rule.size - len(body)) + b'"'
            rest = b"}" if body.strip() == b"{}" else b"," + body[1:]
            reply = Reply(reply.status, raw=b"{" + filler + rest, headers=reply.headers)
    return reply


async def _hold(release: Awaitable[object], receive: Receive) -> None:
    """Wait for the release, or for the client to go away (whichever comes first)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    tasks = [asyncio.ensure_future(release), asyncio.ensure_future(disconnected())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if tasks[1] in done:
        raise ConnectionDrop


async def _read(scope: Scope, receive: Receive) -> Request:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    return Request(
        scope["method"].upper(),
        scope["path"],
        scope.get("query_string", b"").decode("latin-1"),
        headers,
        b"".join(chunks),
        scope.get("scheme", "http"),
    )


async def _send(send: Send, reply: Reply, date: bytes) -> None:
    body = reply.encode()
    headers = [
        (b"date", date),
        (b"content-type", JSON_TYPE),
        (b"content-length", str(len(body)).encode()),
    ]
    await send(
        {"type": "http.response.start", "status": reply.status, "headers": headers + reply.headers}
    )
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Close the connection without answering.

    Under uvicorn the `send` callable belongs to the connection's request cycle, which holds
    the transport; closing it makes the client see "Server disconnected without sending a
    response". In-process there is no socket, so raise what httpx raises in that case.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    transport.close()
    for _ in range(3):
        await asyncio.sleep(0)  # let the server see the connection go before the app returns


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
