"""How far an upload is, through the facade: the file's view, the queue's item and the
`upload_progress` events tell the bytes sent of its size while it leaves, a few times a second at
most, and its end."""

from __future__ import annotations

import asyncio
import os

from agent.api.progress import ProgressThrottle
from agent.api.types import AgentEvent, UploadProgress
from agent.visit.attachments import UploadState
from tests.visit.test_attachments import a_ticket, server_files, settle_uploads
from tests.visit.upload_gate import half_read_world, until

MB = 1_000_000


def report(sent: int, op_id: int = 1, ended: bool = False) -> UploadProgress:
    return UploadProgress(op_id, 7, "a.png", 3 * MB, sent, 4 * MB, ended=ended)


async def test_reports_are_coalesced_to_the_first_the_latest_and_the_end() -> None:
    told: list[UploadProgress] = []
    now = [100.0]
    throttle = ProgressThrottle(told.append, interval=0.25, now=lambda: now[0])
    for sent in range(0, 4 * MB, 64 * 1024):  # every chunk of one upload in one instant
        throttle.update(report(sent))
    throttle.update(report(5, op_id=2))  # another upload is told at once
    assert [(p.op_id, p.sent) for p in told] == [(1, 0), (2, 5)]
    now[0] += 0.25
    throttle._flush()  # the interval's end (a timer of the loop)
    assert told[-1].sent == max(range(0, 4 * MB, 64 * 1024))
    throttle.update(report(4 * MB, ended=True))
    assert told[-1].ended and len(told) == 4
    throttle.close()


async def test_an_upload_under_way_shows_its_bytes_sent_everywhere(tmp_path) -> None:
    async with half_read_world(tmp_path, taken=MB) as (world, gate):
        agent = world.agent
        events: list[UploadProgress] = []

        def heard(event: AgentEvent) -> None:
            if event.kind == "upload_progress":
                events.append(event.data["progress"])

        agent.subscribe(heard)
        ticket = await a_ticket(world)
        size = 2 * MB
        await agent.attach_data(ticket, "meter.png", os.urandom(size), title="Meter")
        await agent.sync_now()
        await until(lambda: gate.held == 1)
        await until(lambda: any(p.sent >= MB for p in agent.uploads_in_progress().values()))
        (now,) = agent.uploads_in_progress().values()
        assert 0 < now.sent < now.total and now.size == size and now.ticket_id == ticket
        (view,) = await agent.attachments(ticket)
        assert view.state is UploadState.UPLOADING and view.progress is not None
        assert 0 < view.progress.file_bytes_sent < size and 0 < view.progress.percent < 100
        (item,) = (await agent.queue_page()).items
        assert item.upload is not None and item.upload.op_id == item.id
        assert item.description.startswith("Attach Meter (2.0 MB) to ticket T")  # as on Files
        await until(lambda: bool(events) and events[-1].sent == now.sent)
        assert [p.sent for p in events] == sorted(p.sent for p in events)
        gate.gate.set()
        await settle_uploads(world)
        await until(lambda: events[-1].ended)
        assert agent.uploads_in_progress() == {}
        assert len(server_files(world)) == 1
        (view,) = await agent.attachments(ticket)
        assert view.state is UploadState.SENT and view.progress is None
        assert len(events) < 40  # coalesced, not one per chunk (the body is ~43 chunks)
        await asyncio.sleep(0)
