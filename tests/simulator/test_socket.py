"""The simulator on a real loopback socket: serving, resets, hangs and the threaded server."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import (
    DEMO_INTEGRATION_CODE,
    DEMO_SECRET,
    DEMO_USERNAME,
    Simulator,
    serve,
    serve_in_thread,
)
from agent.simulator.cli import parser

HEADERS = {
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
    "UserName": DEMO_USERNAME,
    "Secret": DEMO_SECRET,
}

pytestmark = pytest.mark.socket


@pytest.fixture
def sim() -> Simulator:
    return Simulator(tickets=30, clock=FakeClock())


async def zone_url(client: httpx.AsyncClient) -> str:
    r = await client.get("/atservicesrest/v1.0/zoneInformation", params={"user": DEMO_USERNAME})
    return str(r.json()["url"])


async def test_zone_lookup_and_get_over_the_socket(sim: Simulator) -> None:
    async with serve(sim) as base, httpx.AsyncClient(base_url=base, headers=HEADERS) as client:
        assert base.startswith("http://127.0.0.1:")
        url = await zone_url(client)
        assert url == f"{base}/zone5/ATServicesRest/"
        ticket_id = next(iter(sim.tenant.records["Tickets"]))
        r = await client.get(f"{url}V1.0/Tickets/{ticket_id}")
        assert r.json()["item"]["id"] == ticket_id


async def test_connection_reset_closes_the_socket_without_an_answer(sim: Simulator) -> None:
    async with serve(sim) as base, httpx.AsyncClient(base_url=base, headers=HEADERS) as client:
        url = await zone_url(client)
        sim.faults.reset(route="tickets/*", count=1)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{url}V1.0/Tickets/1")
        assert (await client.get(f"{url}V1.0/Tickets/1")).status_code == 200


async def test_hung_request_times_out_on_the_client_and_server_stops_cleanly(
    sim: Simulator,
) -> None:
    async with serve(sim) as base, httpx.AsyncClient(base_url=base, headers=HEADERS) as client:
        url = await zone_url(client)
        sim.faults.hang(route="tickets/*")
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{url}V1.0/Tickets/1", timeout=0.2)
        for _ in range(100):
            if not sim.limits.in_flight:
                break
            await asyncio.sleep(0.01)  # the server notices the client going away
        assert sim.limits.in_flight == {}


def test_serve_in_thread_answers_a_synchronous_client(sim: Simulator) -> None:
    with serve_in_thread(sim) as base, httpx.Client(base_url=base, headers=HEADERS) as client:
        r = client.get("/ATServicesRest/VersionInformation")
        assert r.json()["apiVersions"] == ["1.0"]
        r = client.get("/zone5/ATServicesRest/V1.0/ThresholdInformation")
        assert r.json()["currentTimeframeRequestCount"] == 1


def test_cli_arguments() -> None:
    args = parser().parse_args(
        ["--port", "0", "--seed", "x", "--tickets", "9", "--no-dispatcher", "--time-scale", "0.5"]
    )
    assert (args.port, args.seed, args.tickets, args.no_dispatcher, args.time_scale) == (
        0,
        "x",
        9,
        True,
        0.5,
    )


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        ("1e-6", "a decimal written out in digits, like 0.01 or 1.5, without an exponent"),
        ("-0.5", "a decimal written out in digits, like 0.01 or 1.5, without an exponent"),
        ("٠.٥", "a decimal written out in digits"),
        ("0", "a time scale more than 0, like 0.01 or 1.5 (got '0')"),
        ("0.000", "a time scale more than 0"),
    ],
)
def test_a_time_scale_in_the_wrong_form_says_what_form_is_wanted(
    value: str, wanted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--time-scale", value])
    err = capsys.readouterr().err
    assert wanted in err and "more than 0" not in err.replace("a time scale more than 0", "")
    assert parser().parse_args(["--time-scale", "0.000001"]).time_scale == 1e-6
