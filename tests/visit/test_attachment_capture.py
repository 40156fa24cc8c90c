"""What capture refuses before a file is sealed and queued: anything Autotask would refuse at
sync with no way to fix it there, and anything that cannot be read as a file of bounded size."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from pathlib import Path

import pytest

from agent.api.validation import EditRejected
from agent.autotask.attachments import MAX_ATTACHMENT_BYTES
from agent.visit import attachment_files
from agent.visit.attachments import AttachmentTooLarge, read_file
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


@pytest.mark.skipif(os.name != "posix", reason="devices and named pipes of a POSIX system")
async def test_a_device_a_pipe_or_a_folder_is_refused_before_it_is_read(
    world: World, tmp_path: Path
):
    ticket = await a_ticket(world)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "zero-link"
    link.symlink_to("/dev/zero")
    try:
        for path in ("/dev/zero", link, pipe, tmp_path):
            with pytest.raises(EditRejected) as refused:
                await asyncio.wait_for(world.agent.attach_file(ticket, path), 10)
            assert "not a regular file" in str(refused.value)
    finally:  # a read blocked on the pipe (the defect) ends: a writer comes and goes
        with contextlib.suppress(OSError):
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    await nothing_captured(world)


def test_a_file_is_never_read_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A file that grows while it is read (stat saw it small): at most the limit and one byte
    are read, and it is refused as too large."""
    real_stat, real_fstat = os.stat, os.fstat

    def small(result: os.stat_result) -> os.stat_result:
        fields = list(result)
        fields[stat.ST_MODE] = stat.S_IFREG | 0o644
        fields[stat.ST_SIZE] = 10
        return os.stat_result(fields)

    growing = "/dev/zero"  # endless: shown as a small regular file
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: small(real_stat(p, *a, **k)))
    monkeypatch.setattr(os, "fstat", lambda fd: small(real_fstat(fd)))
    reads: list[int] = []
    real_read = os.read

    def counted(fd: int, size: int) -> bytes:
        assert 0 <= size <= MAX_ATTACHMENT_BYTES + 1, size
        data = real_read(fd, size)
        reads.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counted)
    with pytest.raises(AttachmentTooLarge):
        read_file(Path(growing))
    assert 0 < sum(reads) <= MAX_ATTACHMENT_BYTES + 1
