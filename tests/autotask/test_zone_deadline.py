"""The zone lookup has one deadline for the whole exchange: a directory that sends its answer a
byte at a time never trips httpx's per-read timeout, so without it a sync waits for minutes.
The drip here is real (a loopback socket) but fast, and the deadline a fraction of a second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpx
import pytest

from agent.autotask import (
    ApiCredentials,
    AutotaskClient,
    ClientOptions,
    NetworkError,
    RequestTimeoutError,
)
from agent.autotask.zones import LOOKUP_BACKOFF_S
from agent.clock import FakeClock

CREDENTIALS = ApiCredentials("tech@example.com", "drip-SECRET", "DRIP-CODE")
BODY = b'{"zoneName": "Zone 5", "url": "http://127.0.0.1:9/ATServicesRest/", "ci": 5}'


class Drip(list[int]):
    """Bytes sent, lookups asked; `started` is set at the first byte of an answer."""

    def __init__(self, counts: list[int]) -> None:
        super().__init__(counts)
        self.started = asyncio.Event()


@asynccontextmanager
async def dripping_directory(interval: float) -> AsyncIterator[tuple[str, Drip]]:
    """A directory that answers headers at once and then one byte every `interval` seconds;
    yields its base URL and the count of bytes it sent (and, second, of lookups it was asked)."""
    sent = Drip([0, 0])

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sent[1] += 1
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
                sent.started.set()
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


async def test_a_failed_zone_lookup_is_not_asked_again_until_its_backoff_has_passed() -> None:
    """Every call needs the zone: after one lookup failed, the others fail at once with its
    error, without asking the directory (counted), until its backoff has passed (fake clock)."""
    clock = FakeClock()
    async with dripping_directory(0.02) as (directory, sent):
        options = ClientOptions(directory_url=directory, zone_lookup_deadline=0.1, clock=clock)
        async with httpx.AsyncClient(timeout=5.0) as http:
            client = AutotaskClient(http, CREDENTIALS, options=options)
            for _ in range(5):
                with pytest.raises(RequestTimeoutError) as late:
                    await asyncio.wait_for(client.threshold(), OUTER_BOUND)
                assert "zone" in str(late.value).lower()
            assert sent[1] == 1
            clock.advance(LOOKUP_BACKOFF_S + 0.1)
            with pytest.raises(RequestTimeoutError):
                await asyncio.wait_for(client.threshold(), OUTER_BOUND)
            assert sent[1] == 2
            clock.advance(LOOKUP_BACKOFF_S + 0.1)  # the second failure in a row waits longer
            client.network_returned()  # a directory that answers (slowly) is not offline
            with pytest.raises(RequestTimeoutError):
                await asyncio.wait_for(client.threshold(), OUTER_BOUND)
            assert sent[1] == 2


async def test_a_lookup_that_could_not_connect_is_tried_again_when_the_network_is_back() -> None:
    clock, asked = FakeClock(), [0]

    def unreachable(request: httpx.Request) -> httpx.Response:
        asked[0] += 1
        raise httpx.ConnectError("network is unreachable", request=request)

    options = ClientOptions(directory_url="https://directory.test/ATServicesRest/", clock=clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as http:
        client = AutotaskClient(http, CREDENTIALS, options=options)
        for _ in range(3):
            with pytest.raises(NetworkError):
                await client.threshold()
        assert asked[0] == 1  # the lookup's backoff: the other calls fail at once
        client.network_returned()
        with pytest.raises(NetworkError):
            await client.threshold()
        assert asked[0] == 2  # asked again at once, not at the end of its backoff


async def test_abandoning_the_calls_ends_one_whose_zone_lookup_drips() -> None:
    # The lookup's own deadline (5 s) is far beyond the whole drip (0.02 s * 80 bytes).
    async with dripping_directory(0.02) as (directory, sent):
        options = ClientOptions(directory_url=directory, zone_lookup_deadline=5.0)
        async with httpx.AsyncClient(timeout=5.0) as http:
            client = AutotaskClient(http, CREDENTIALS, options=options)
            call = asyncio.ensure_future(client.threshold())
            async with asyncio.timeout(OUTER_BOUND):  # a hang guard only
                await sent.started.wait()  # until the answer has started to drip
            client.abandon_calls()
            with pytest.raises(NetworkError) as abandoned:
                await asyncio.wait_for(call, OUTER_BOUND)
            assert sent[0] < len(BODY)  # it ended while the directory was still dripping
            assert "closing" in str(abandoned.value)
            assert not abandoned.value.may_have_reached_server
            with pytest.raises(NetworkError):  # later calls are refused at once
                await client.threshold()
            assert sent[1] == 1
