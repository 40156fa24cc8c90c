"""What capture refuses before a file is sealed and queued: anything Autotask would refuse at
sync with no way to fix it there, and anything that cannot be read as a file of bounded size."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.api.validation import EditRejected
from agent.visit import attachment_files
from tests.e2e.conftest import World
from tests.visit.test_attachments import a_ticket


async def nothing_captured(world: World) -> None:
    assert (await world.agent.queue_page()).total == 0
    folder = attachment_files.folder_of(world.agent.profile_dir)
    assert not folder.exists() or not list(folder.iterdir())


async def test_a_title_longer_than_the_field_is_refused_at_capture(world: World, tmp_path: Path):
    ticket = await a_ticket(world)
    source = tmp_path / "small.txt"
    source.write_bytes(b"a few bytes")
    with pytest.raises(EditRejected) as refused:
        await world.agent.attach_file(ticket, source, title="t" * 300)
    assert "title" in str(refused.value) and "255" in str(refused.value)
    with pytest.raises(EditRejected) as refused:
        await world.agent.attach_data(ticket, "n" * 252 + ".txt", b"a few bytes")
    assert "name" in str(refused.value) and "255" in str(refused.value)
    await nothing_captured(world)
    await world.agent.attach_file(ticket, source, title="t" * 255)  # the field's own limit
    assert (await world.agent.queue_page()).total == 1
