"""A file upload whose answer was lost is adopted only when the server's record is that file:
attached by this technician, owned by no other upload, holding the same bytes. Anything else
is not it, and the file is sent again; counted on the simulator's own records."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from agent.api.facade import Agent
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from agent.visit import attachment_files
from agent.visit.attachments import UploadState
from tests.e2e.conftest import BASE, World
from tests.visit.test_attachments import a_ticket, server_files, sync_and_upload

MINE = b"technician's own notes."  # 23 bytes
THEIRS = b"dispatcher's own notes!"  # as many bytes, other content


async def post_as(sim: Simulator, ticket: int, name: str, data: bytes, *, for_: int | None) -> int:
    """An attachment uploaded by another program of the tenant, acting for the resource `for_`
    (None: as the API user itself)."""
    headers = {
        "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
        "UserName": DEMO_USERNAME,
        "Secret": DEMO_SECRET,
    }
    if for_ is not None:
        headers["ImpersonationResourceId"] = str(for_)
    base = f"{BASE}/zone{sim.zone}/ATServicesRest/V1.0/"
    body = {
        "attachmentType": "FILE_ATTACHMENT",
        "title": name,
        "fullPath": name,
        "publish": 1,
        "data": base64.b64encode(data).decode("ascii"),
    }
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url=base, headers=headers) as api:
        answer = await api.post(f"Tickets/{ticket}/Attachments", json=body)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["itemId"])


def contents(world: World, ticket: int) -> dict[int, bytes]:
    return {
        i: base64.b64decode(r["data"])
        for i, r in server_files(world).items()
        if r["parentID"] == ticket
    }


async def settle(world: World) -> None:
    for _ in range(6):
        world.clock.advance(400)
        await sync_and_upload(world)


def sealed_copies(agent: Agent) -> list[Path]:
    folder = attachment_files.folder_of(agent.profile_dir)
    return [p for p in folder.iterdir() if p.is_file()] if folder.exists() else []


def lose_answer(sim: Simulator, fault: str) -> None:
    if fault == "reset":  # the upload never lands
        sim.faults.reset(route="tickets/*/attachments", verb="POST", count=1)
    else:  # it lands, its answer is lost
        sim.faults.drop_response(route="tickets/*/attachments", verb="POST", count=1)


@pytest.mark.parametrize("fault", ["reset", "drop"])
async def test_a_lost_upload_never_adopts_a_file_another_user_attached(world: World, fault: str):
    ticket = await a_ticket(world)
    await world.agent.set_work_offline(True)
    await world.agent.attach_data(ticket, "same.txt", MINE)
    theirs = await post_as(world.sim, ticket, "same.txt", THEIRS, for_=None)
    await world.agent.set_work_offline(False)
    lose_answer(world.sim, fault)
    await sync_and_upload(world)
    if fault == "reset" or not sealed_copies(world.agent):
        # Not confirmed on the server: kept. With the answer dropped the upload did land, and
        # a reconciliation in the same round may already have found it by its bytes.
        (view,) = await world.agent.attachments(ticket)
        confirmed = view.server_id is not None and contents(world, ticket)[view.server_id] == MINE
        assert sealed_copies(world.agent) or (fault == "drop" and confirmed)
    await settle(world)
    held = contents(world, ticket)
    assert sorted(held.values()) == sorted([MINE, THEIRS])
    assert held[theirs] == THEIRS
    (view,) = await world.agent.attachments(ticket)
    assert view.state is UploadState.SENT and view.server_id != theirs
    assert view.server_id is not None and held[view.server_id] == MINE
    assert not sealed_copies(world.agent)


async def test_a_second_laptop_does_not_adopt_the_first_ones_file(world: World):
    """The technician's other laptop uploaded a file of the same name and size: attached by
    the same resource, but not these bytes."""
    ticket = await a_ticket(world)
    await world.agent.set_work_offline(True)
    await world.agent.attach_data(ticket, "same.txt", MINE)
    technician = world.sim.technician_resource_id
    first = await post_as(world.sim, ticket, "same.txt", THEIRS, for_=technician)
    assert server_files(world)[first]["attachedByResourceID"] == technician
    await world.agent.set_work_offline(False)
    lose_answer(world.sim, "drop")
    await sync_and_upload(world)
    await settle(world)
    held = contents(world, ticket)
    assert sorted(held.values()) == sorted([MINE, THEIRS])
    (view,) = await world.agent.attachments(ticket)
    assert view.state is UploadState.SENT and view.server_id != first
    assert view.server_id is not None and held[view.server_id] == MINE
