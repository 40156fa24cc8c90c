"""Photos and files attached to a ticket offline: sealed in the profile, uploaded after edits,
within Autotask's byte budget, exactly once; counted on the simulator's own records."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.api.facade import Agent
from agent.api.validation import EditRejected
from agent.autotask.attachments import MAX_ATTACHMENT_BYTES
from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, Simulator
from agent.store.models import OpState
from agent.visit import attachment_files
from agent.visit.attachments import AttachmentTooLarge, UploadState
from tests.e2e.conftest import World, options

MB = 1_000_000


def server_files(world: World) -> dict[int, dict[str, Any]]:
    return dict(world.sim.dump().get("TicketAttachments", {}))


async def a_ticket(world: World) -> int:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report
    return (await world.agent.my_tickets())[0].id


async def settle_uploads(world: World) -> None:
    engine = world.agent.engine
    assert engine is not None and engine.pusher.uploads is not None
    await engine.pusher.uploads.drain()


async def sync_and_upload(world: World) -> None:
    await world.agent.sync_now()
    await settle_uploads(world)


def marked(size: int) -> bytes:
    """Random bytes (nothing to compress) with a text marker that must never be on disk."""
    marker = b"PLAINTEXT-MARKER-0123456789"
    return marker + os.urandom(size - len(marker))


async def test_a_file_is_sealed_in_the_profile_and_sent_once(world: World, tmp_path: Path):
    ticket = await a_ticket(world)
    await world.agent.set_work_offline(True)
    data = marked(200_000)
    source = tmp_path / "meter reading.jpg"
    source.write_bytes(data)
    result = await world.agent.attach_file(ticket, source, title="Meter")
    assert result.op_id is not None
    folder = attachment_files.folder_of(world.agent.profile_dir)
    stored = [p for p in folder.iterdir() if p.is_file()]
    assert len(stored) == 1
    on_disk = stored[0].read_bytes()
    assert b"PLAINTEXT-MARKER" not in on_disk and data[1000:1100] not in on_disk
    for db_file in world.agent.profile_dir.glob("*.db*"):
        assert b"meter reading" not in db_file.read_bytes()
    (view,) = await world.agent.attachments(ticket)
    assert (view.state, view.name, view.title, view.size) == (
        UploadState.QUEUED,
        "meter reading.jpg",
        "Meter",
        len(data),
    )
    assert not server_files(world)

    await world.agent.set_work_offline(False)
    await sync_and_upload(world)
    (record,) = [r for r in server_files(world).values() if r["parentID"] == ticket]
    assert base64.b64decode(record["data"]) == data
    assert (record["title"], record["fullPath"]) == ("Meter", "meter reading.jpg")
    (view,) = await world.agent.attachments(ticket)
    assert view.state is UploadState.SENT and view.server_id == int(record["id"])
    assert not [p for p in folder.iterdir() if p.is_file()]  # Autotask has it: copy removed
    world.clock.advance(600)
    await sync_and_upload(world)
    assert len(server_files(world)) == 1


async def test_a_file_over_the_limit_is_refused_at_capture_with_the_photo_offer(world: World):
    ticket = await a_ticket(world)
    big_photo = b"\xff\xd8\xff\xe0" + os.urandom(MAX_ATTACHMENT_BYTES)
    with pytest.raises(AttachmentTooLarge) as refused:
        await world.agent.attach_data(ticket, "site.jpg", big_photo)
    assert refused.value.photo == "jpeg" and "at most 6.3 MB" in str(refused.value)
    with pytest.raises(AttachmentTooLarge) as refused:
        await world.agent.attach_data(ticket, "dump.bin", os.urandom(MAX_ATTACHMENT_BYTES + 1))
    assert refused.value.photo is None
    with pytest.raises(EditRejected):
        await world.agent.attach_data(ticket, "empty.txt", b"")
    assert (await world.agent.queue_page()).total == 0
    assert not list(attachment_files.folder_of(world.agent.profile_dir).glob("*"))


async def test_a_full_disk_refuses_the_file_and_loses_nothing(world: World, monkeypatch):
    ticket = await a_ticket(world)
    await world.agent.update_ticket(ticket, title="Kept")
    real_write = os.write

    def full(fd: int, data: Any) -> int:
        if len(data) > 10_000:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(Exception, match="full"):
        await world.agent.attach_data(ticket, "photo.png", os.urandom(50_000))
    monkeypatch.undo()
    page = await world.agent.queue_page()
    assert [i.entity_type for i in page.items] == ["Tickets"]
    assert not list(attachment_files.folder_of(world.agent.profile_dir).iterdir())


def gated(app: Any, gate: asyncio.Event, seen: list[str], uploading: asyncio.Event) -> Any:
    """The simulator's ASGI app with attachment uploads held until `gate` is set; `uploading`
    is set when one has arrived (the agent marks it as uploading before it leaves)."""

    async def wrapper(scope: dict, receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope.get("type") == "http":
            path = scope.get("path", "")
            seen.append(f"{scope.get('method')} {path}")
            if scope.get("method") == "POST" and path.endswith("/Attachments"):
                uploading.set()
                await gate.wait()
        await app(scope, receive, send)

    return wrapper


@contextlib.asynccontextmanager
async def gated_world(
    tmp_path: Path,
) -> AsyncIterator[tuple[World, asyncio.Event, list[str], asyncio.Event]]:
    clock = FakeClock()
    sim = Simulator(seed="visit", tickets=40, clock=clock)
    sim.limits.latency_enabled = False
    gate, seen, uploading = asyncio.Event(), [], asyncio.Event()
    transport = httpx.ASGITransport(app=gated(sim.app, gate, seen, uploading))
    opts = dataclasses.replace(options(sim, clock, tmp_path), transport=transport)
    agent = await Agent.open(opts)
    try:
        yield World(sim, agent, clock, tmp_path), gate, seen, uploading
    finally:
        gate.set()
        await agent.close()


async def test_a_status_change_is_not_held_back_by_a_slow_upload(tmp_path: Path):
    async with gated_world(tmp_path) as (world, gate, seen, uploading):
        ticket = await a_ticket(world)
        await world.agent.set_work_offline(True)
        await world.agent.attach_data(ticket, "big.png", os.urandom(5 * MB))
        statuses = await world.agent.picklists("Tickets")
        current = world.sim.dump()["Tickets"][ticket]["status"]
        status = next(s for s in statuses["status"] if s != current)
        await world.agent.update_ticket(ticket, status=status)
        await world.agent.set_work_offline(False)
        report = await asyncio.wait_for(world.agent.sync_now(), 30)  # the upload is held
        assert report is not None and report.push.failed == 0
        assert world.sim.dump()["Tickets"][ticket]["status"] == status
        assert not server_files(world)
        # The upload reads and encodes its file in a worker thread before it leaves.
        await asyncio.wait_for(uploading.wait(), 30)
        (view,) = await world.agent.attachments(ticket)
        assert view.state is UploadState.UPLOADING
        # A change made while the file is still uploading goes in the next round.
        await world.agent.update_ticket(ticket, title="Done while uploading")
        await asyncio.wait_for(world.agent.sync_now(), 30)
        assert world.sim.dump()["Tickets"][ticket]["title"] == "Done while uploading"
        gate.set()
        await settle_uploads(world)
        assert len(server_files(world)) == 1
        (view,) = await world.agent.attachments(ticket)
        assert view.state is UploadState.SENT
        patches = [i for i, s in enumerate(seen) if s.startswith("PATCH")]
        posts = [i for i, s in enumerate(seen) if s.endswith("/Attachments")]
        assert patches[0] < posts[0]  # claimed after the edit, by priority


def bytes_in_any_window(world: World, window: float) -> int:
    """The most attachment bytes the simulator stored in any `window` seconds (its records)."""
    budget = world.sim.limits.attachments
    stamps = sorted(t for sent in budget.sent.values() for t in sent)
    return max(
        (sum(n for at, n in stamps if start <= at < start + window) for start, _ in stamps),
        default=0,
    )


async def test_uploads_are_paced_within_the_byte_budget(world: World):
    ticket = await a_ticket(world)
    for i in range(5):
        await world.agent.attach_data(ticket, f"photo-{i}.png", os.urandom(3 * MB))
    for _ in range(40):
        await sync_and_upload(world)
        if len(server_files(world)) == 5:
            break
        world.clock.advance(30)
    assert len(server_files(world)) == 5
    assert bytes_in_any_window(world, 300.0) <= 10_000_000
    assert not world.sim.limits.attachments.refused_until  # never locked out
    states = {v.state for v in await world.agent.attachments(ticket)}
    assert states == {UploadState.SENT}


async def test_a_budget_refusal_waits_uploads_only(world: World):
    ticket = await a_ticket(world)
    # Another program of the same integration used the budget up: the server refuses.
    world.sim.limits.attachments.record(DEMO_INTEGRATION_CODE, 9_990_000)
    await world.agent.attach_data(ticket, "a.png", os.urandom(100_000))
    await sync_and_upload(world)
    (view,) = await world.agent.attachments(ticket)
    assert view.state is UploadState.QUEUED and not server_files(world)
    assert world.sim.limits.attachments.refused_until  # the server's refusal period runs
    await world.agent.update_ticket(ticket, title="Still goes")
    report = await world.agent.sync_now()
    assert report is not None and report.push.succeeded == 1
    assert world.sim.dump()["Tickets"][ticket]["title"] == "Still goes"
    world.clock.advance(310)
    await sync_and_upload(world)
    assert len(server_files(world)) == 1


async def test_a_lost_answer_leaves_exactly_one_attachment(world: World):
    ticket = await a_ticket(world)
    await world.agent.attach_data(ticket, "lost.png", os.urandom(300_000), title="Lost")
    world.sim.faults.drop_response(route="tickets/*/attachments", verb="POST", count=1)
    await sync_and_upload(world)
    assert len(server_files(world)) == 1  # applied, the answer lost
    for _ in range(6):
        world.clock.advance(400)
        await sync_and_upload(world)
    assert len(server_files(world)) == 1
    (view,) = await world.agent.attachments(ticket)
    assert view.state is UploadState.SENT
    assert view.server_id == next(iter(server_files(world)))
    ops = (await world.agent.queue_page(states=[OpState.DONE])).items
    assert [o.entity_type for o in ops] == ["TicketAttachments"]


async def test_the_same_title_and_size_on_the_server_before_is_not_adopted(world: World):
    """A lost create is matched by attach time too: an older identical file is not it."""
    ticket = await a_ticket(world)
    data = os.urandom(1000)
    await world.agent.attach_data(ticket, "same.png", data, title="Same")
    await sync_and_upload(world)
    world.clock.advance(3600)
    await world.agent.attach_data(ticket, "same.png", data, title="Same")
    world.sim.faults.drop_response(route="tickets/*/attachments", verb="POST", count=1)
    await sync_and_upload(world)
    for _ in range(6):
        world.clock.advance(400)
        await sync_and_upload(world)
    assert len(server_files(world)) == 2
    views = await world.agent.attachments(ticket)
    assert {v.server_id for v in views} == set(server_files(world))
