"""Every fault kind, its limits (count, route, verb, rate) and the HTTP control routes."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import DEMO_SECRET, DEMO_USERNAME, Simulator
from tests.simulator.conftest import own_ticket_ids


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_error_fault_answers_status_for_count_requests(
    api: httpx.AsyncClient, sim: Simulator, status: int
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    sim.faults.error(status, route="tickets/*", count=2)
    codes = [(await api.get(f"Tickets/{ticket_id}")).status_code for _ in range(3)]
    assert codes == [status, status, 200]
    assert (await api.get("Companies/170")).status_code == 200


async def test_fault_limited_to_a_verb(api: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.error(503, route="tickets", verb="PATCH")
    ticket_id = own_ticket_ids(sim)[0]
    assert (await api.get(f"Tickets/{ticket_id}")).status_code == 200
    assert (await api.patch("Tickets", json={"id": ticket_id, "title": "x"})).status_code == 503


async def test_rates_are_deterministic_from_the_seed(fake_clock: FakeClock) -> None:
    def pattern() -> list[bool]:
        sim = Simulator(tickets=1, clock=fake_clock)
        sim.faults.error(500, rate=0.3)
        return [bool(sim.faults.fire(("error",), "tickets/1", "GET")) for _ in range(200)]

    first = pattern()
    assert first == pattern()
    assert 30 < sum(first) < 90


async def test_latency_fault_waits_on_the_clock(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    sim.faults.latency(2.5, route="tickets/*", count=1)
    sim.faults.latency(1.0, max_seconds=3.0, distribution="uniform", route="companies/*")
    await api.get("Tickets/1")
    await api.get("Tickets/1")
    await api.get("Companies/170")
    assert fake_clock.sleeps[0] == 2.5
    assert len(fake_clock.sleeps) == 2 and 1.0 <= fake_clock.sleeps[1] <= 3.0


async def test_reset_in_process_raises_what_httpx_raises_for_a_dropped_connection(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.faults.reset(count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await api.get("Tickets/1")
    assert (await api.get("Tickets/1")).status_code == 200


async def test_hang_holds_until_cancelled(api: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.hang(route="tickets/*")
    task = asyncio.create_task(api.get("Tickets/1"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sim.limits.in_flight == {}


async def test_drop_applies_the_write_then_loses_the_answer(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    company = next(iter(sim.tenant.records["Companies"]))
    before = len(sim.tenant.records["Tickets"])
    sim.faults.drop_response(route="tickets", verb="POST", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await api.post(
            "Tickets",
            json={"companyID": company, "title": "Lost answer", "status": 1, "priority": 2},
        )
    tickets = sim.dump()["Tickets"]
    assert len(tickets) == before + 1
    assert [t["title"] for t in tickets.values()].count("Lost answer") == 1


async def test_read_after_write_lag(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    sim.faults.read_lag(5.0, route="tickets")
    company = next(iter(sim.tenant.records["Companies"]))
    r = await api.post(
        "Tickets", json={"companyID": company, "title": "Fresh", "status": 1, "priority": 2}
    )
    new_id = r.json()["itemId"]
    assert (await api.get(f"Tickets/{new_id}")).status_code == 404
    query = {"Filter": [{"op": "eq", "field": "id", "value": new_id}]}
    assert (await api.post("Tickets/query", json=query)).json()["items"] == []
    fake_clock.advance(5.0)
    assert (await api.get(f"Tickets/{new_id}")).json()["item"]["title"] == "Fresh"
    old = own_ticket_ids(sim)[0]
    assert (await api.get(f"Tickets/{old}")).status_code == 200


async def test_malformed_json_answer(api: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.malformed_json(count=1)
    r = await api.get(f"Tickets/{own_ticket_ids(sim)[0]}")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()


async def test_huge_answer_is_valid_json_of_the_requested_size(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.faults.huge_response(size=2_000_000, count=1)
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.get(f"Tickets/{ticket_id}")
    assert len(r.content) >= 2_000_000
    assert r.json()["item"]["id"] == ticket_id


async def test_control_routes(
    raw_client: httpx.AsyncClient, api: httpx.AsyncClient, sim: Simulator
) -> None:
    r = await raw_client.post(
        "/_sim/faults", json={"kind": "error", "status": 502, "route": "tickets/*", "count": 1}
    )
    assert r.status_code == 200
    assert (await api.get("Tickets/1")).status_code == 502
    listed = (await raw_client.get("/_sim/faults")).json()["faults"]
    assert listed[0]["fired"] == 1 and listed[0]["remaining"] == 0
    assert (await raw_client.delete("/_sim/faults")).json() == {"faults": []}
    assert (await raw_client.post("/_sim/faults", json={"kind": "nonsense"})).status_code == 400
    state = (await raw_client.get("/_sim/state")).json()
    assert state["technicianResourceId"] == sim.technician_resource_id
    assert state["counts"]["Tickets"] == 200
    ticket_id = own_ticket_ids(sim)[0]
    one = await raw_client.get("/_sim/state", params={"entity": "tickets", "id": ticket_id})
    assert one.json()["item"]["id"] == ticket_id
    edited = await raw_client.patch(f"/_sim/tickets/{ticket_id}", json={"priority": 1})
    assert edited.json()["item"]["priority"] == 1
    steps = (await raw_client.post("/_sim/dispatcher", json={"action": "step"})).json()
    assert steps["edits"]
    assert (await raw_client.post("/_sim/zone", json={"zone": 7})).json() == {"zone": 7}
    secret = (await raw_client.post("/_sim/secret", json={})).json()["secret"]
    user = sim.tenant.user(DEMO_USERNAME)
    assert user is not None and user.secret == secret != DEMO_SECRET


async def test_throttle_and_thread_limit_faults_answer_429_as_the_service_does() -> None:
    import httpx

    from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator

    sim = Simulator(seed="faults-429", tickets=20)
    headers = {
        "UserName": DEMO_USERNAME,
        "Secret": DEMO_SECRET,
        "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test"
    ) as http:
        zone = (
            await http.get("/ATServicesRest/V1.0/ZoneInformation", params={"user": DEMO_USERNAME})
        ).json()["url"]
        sim.faults.throttle(retry_after=42, count=1)
        first = await http.get(f"{zone}V1.0/Tickets/1", headers=headers)
        sim.faults.thread_limit(count=1)
        second = await http.get(f"{zone}V1.0/Tickets/1", headers=headers)
        third = await http.get(f"{zone}V1.0/Tickets/1", headers=headers)
    assert first.status_code == 429 and first.headers["retry-after"] == "42"
    assert "threshold" in first.json()["errors"][0]
    assert second.status_code == 429 and second.json() == {"errors": ["Thread Threshold Exceeded"]}
    assert third.status_code == 200
