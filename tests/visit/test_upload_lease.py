"""An upload that outlasts its claim's lease (a slow link, a laptop asleep mid-upload) is sent
once and never lost: the rounds that run meanwhile neither send it again nor settle it as "not
on the server" while this agent still waits for its answer. Counted on the simulator's records;
the clock is a fake one moved past the lease while the server holds the upload."""

from __future__ import annotations

import asyncio
import os

from agent.store.models import OpState
from agent.sync.push import LEASE_SECONDS
from agent.visit.attachments import UploadState
from tests.visit.test_attachments import (
    a_ticket,
    gated_world,
    server_files,
    settle_uploads,
)

MB = 1_000_000


async def posts_seen(seen: list[str]) -> int:
    await asyncio.sleep(0)
    return sum(1 for s in seen if s.startswith("POST") and s.endswith("/Attachments"))


async def wait_for_posts(seen: list[str], count: int) -> None:
    async with asyncio.timeout(10):
        while await posts_seen(seen) < count:  # noqa: ASYNC110 (the server's record, polled)
            await asyncio.sleep(0.001)


async def test_an_upload_longer_than_its_lease_is_sent_once(tmp_path):
    async with gated_world(tmp_path) as (world, gate, seen):
        ticket = await a_ticket(world)
        await world.agent.attach_data(ticket, "site.png", os.urandom(2 * MB), title="Site")
        await world.agent.sync_now()
        await wait_for_posts(seen, 1)  # on its way; the server holds it
        # Hours pass on the wall clock (the laptop slept) while the upload is still open.
        for _ in range(4):
            world.clock.advance(LEASE_SECONDS * 5)
            report = await asyncio.wait_for(world.agent.sync_now(), 30)
            assert report is not None
            assert await posts_seen(seen) == 1  # no second upload of the same file
        (view,) = await world.agent.attachments(ticket)
        assert view.state is UploadState.UPLOADING
        gate.set()
        await settle_uploads(world)
        for _ in range(3):
            world.clock.advance(LEASE_SECONDS * 2)
            await world.agent.sync_now()
            await settle_uploads(world)
        assert len(server_files(world)) == 1
        assert await posts_seen(seen) == 1
        (view,) = await world.agent.attachments(ticket)
        assert view.state is UploadState.SENT
        assert view.server_id == next(iter(server_files(world)))
        done = (await world.agent.queue_page(states=[OpState.DONE])).items
        assert [o.entity_type for o in done] == ["TicketAttachments"]
