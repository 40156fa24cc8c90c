"""An upload that outlasts its claim's lease (a slow link, a laptop asleep mid-upload) is sent
once and never lost: the rounds that run meanwhile neither send it again nor settle it as "not
on the server" while this agent still waits for its answer. Counted on the simulator's records;
the clock is a fake one moved past the lease while the server holds the upload."""

from __future__ import annotations

import asyncio
import os
import threading

from agent.store.models import OpState
from agent.sync import attempts
from agent.sync.attachment_push import MIN_UPLOAD_RATE, upload_deadline
from agent.sync.push import LEASE_SECONDS
from agent.visit import attachment_files
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
    async with gated_world(tmp_path) as (world, gate, seen, _uploading):
        ticket = await a_ticket(world)
        await world.agent.attach_data(ticket, "site.png", os.urandom(2 * MB), title="Site")
        await world.agent.sync_now()
        await wait_for_posts(seen, 1)  # on its way; the server holds it
        (view,) = await world.agent.attachments(ticket)
        sent = await world.agent.store.aread(lambda: attempts.of(view.op_id or 0))
        assert sent is not None  # in flight for as long as the file takes on a slow link
        assert sent.in_flight_until - sent.last_sent_at >= 2 * MB * 4 / 3 / MIN_UPLOAD_RATE
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


def test_an_upload_is_given_time_for_its_size_on_a_slow_link() -> None:
    assert upload_deadline(35.0, 0) < 40.0
    six_mb = upload_deadline(35.0, 6 * MB)
    assert six_mb > LEASE_SECONDS  # a large photo may outlast its claim: see above
    assert six_mb == 35.0 + (8 * MB + 1024) / MIN_UPLOAD_RATE


async def test_a_send_whose_lease_ran_out_before_it_left_is_marked_uncertain(tmp_path, monkeypatch):
    """The lease ends while the upload waits for its turn; when it then leaves, the operation
    (pending again) is marked outcome-unknown before a byte goes: a crash from then on is
    settled by a lookup, never answered by sending the file again."""
    ready = threading.Event()
    real_open = attachment_files.open_sealed

    def slow_open(*args):
        assert ready.wait(10)
        return real_open(*args)

    monkeypatch.setattr(attachment_files, "open_sealed", slow_open)
    async with gated_world(tmp_path) as (world, gate, seen, _uploading):
        ticket = await a_ticket(world)
        await world.agent.attach_data(ticket, "late.png", os.urandom(300_000), title="Late")
        ready.clear()
        await world.agent.sync_now()  # claimed; the upload waits before it leaves
        world.clock.advance(LEASE_SECONDS * 2)
        engine = world.agent.engine
        assert engine is not None
        await engine.reconciler.run()  # the lease ran out: pending again
        (view,) = await world.agent.attachments(ticket)
        op = await world.agent.store.aread(lambda: world.agent.outbox.get(view.op_id or 0))
        assert op is not None and op.state is OpState.PENDING and not op.outcome_unknown
        ready.set()
        await wait_for_posts(seen, 1)
        op = await world.agent.store.aread(lambda: world.agent.outbox.get(view.op_id or 0))
        assert op is not None and op.outcome_unknown  # what a crash now would leave
        gate.set()
        await settle_uploads(world)
        assert len(server_files(world)) == 1
        (view,) = await world.agent.attachments(ticket)
        assert view.state is UploadState.SENT
