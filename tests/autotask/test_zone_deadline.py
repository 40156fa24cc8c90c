"""The zone lookup has one deadline for the whole exchange: a directory that sends its answer a
byte at a time never trips httpx's per-read timeout, so without it a sync waits for minutes.
The drip here is real (a loopback socket) but fast, and the deadline a fraction of a second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpx
import pytest

from agent.autotask import ApiCredentials, AutotaskClient, ClientOptions, RequestTimeoutError

CREDENTIALS = ApiCredentials("tech@example.com", "drip-SECRET", "DRIP-CODE")
BODY = b'{"zoneName": "Zone 5", "url": "http://127.0.0.1:9/ATServicesRest/", "ci": 5}'


@asynccontextmanager
async def dripping_directory(interval: float) -> AsyncIterator[tuple[str, list[int]]]:
    """A directory that answers headers at once and then one byte every `interval` seconds;
    yields its base URL and the count of bytes it sent."""
    sent = [0]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
            writer.write(head)
            await writer.drain()
            for byte in BODY:
                await asyncio.sleep(interval)
                writer.write(bytes([byte]))
                await writer.drain()
                sent[0] += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/ATServicesRest/", sent
    finally:
        server.close()
        with suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


# What ends each call: the client's own deadline raises `RequestTimeoutError`; without one, the
# outer bound (well before the whole drip ends) raises the built-in `TimeoutError` instead.
OUTER_BOUND = 1.0


async def test_a_dripping_zone_lookup_ends_at_its_deadline() -> None:
    # The whole answer would take 0.02 s * 80 bytes = 1.6 s; each read takes only 0.02 s.
    async with dripping_directory(0.02) as (directory, sent):
        options = ClientOptions(directory_url=directory, zone_lookup_deadline=0.25)
        async with httpx.AsyncClient(timeout=5.0) as http:
            client = AutotaskClient(http, CREDENTIALS, options=options)
            with pytest.raises(RequestTimeoutError) as late:
                await asyncio.wait_for(client.threshold(), OUTER_BOUND)
    assert 0 < sent[0] < len(BODY)  # the server was still dripping when the lookup gave up
    assert "zone" in str(late.value).lower()


async def test_the_call_deadline_also_bounds_the_zone_lookup() -> None:
    async with dripping_directory(0.02) as (directory, sent):
        options = ClientOptions(directory_url=directory, deadline=0.25)
        async with httpx.AsyncClient(timeout=5.0) as http:
            client = AutotaskClient(http, CREDENTIALS, options=options)
            with pytest.raises(RequestTimeoutError):
                await asyncio.wait_for(client.threshold(), OUTER_BOUND)
    assert 0 < sent[0] < len(BODY)


def test_the_default_zone_lookup_deadline_is_bounded() -> None:
    deadline = ClientOptions().zone_lookup_deadline
    assert deadline is not None and 0 < deadline <= 60
