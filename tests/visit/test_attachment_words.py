"""How attached files are named and sized to the technician: one size in every view, sizes
precise enough to tell a file from the limit, and no invisible characters that turn a name
around."""

from __future__ import annotations

import os

import pytest

from agent.autotask.attachments import MAX_ATTACHMENT_BYTES
from agent.cli_attach import _file_line
from agent.visit.attachments import AttachmentTooLarge
from tests.e2e.conftest import World
from tests.visit.test_attachments import a_ticket
from ui.pages.ticket_files import file_text


async def test_a_file_one_byte_over_the_limit_reads_larger_than_the_limit(world: World):
    ticket = await a_ticket(world)
    with pytest.raises(AttachmentTooLarge) as refused:
        await world.agent.attach_data(ticket, "plus1.bin", os.urandom(MAX_ATTACHMENT_BYTES + 1))
    message = str(refused.value)
    assert f"{MAX_ATTACHMENT_BYTES + 1:,} bytes" in message
    assert f"at most 6.3 MB ({MAX_ATTACHMENT_BYTES:,} bytes)" in message


async def test_the_queue_the_files_tab_and_the_command_line_show_one_size(world: World):
    ticket = await a_ticket(world)
    await world.agent.attach_data(ticket, "five.bin", os.urandom(5_000_000))
    (item,) = (await world.agent.queue_page()).items
    (view,) = await world.agent.attachments(ticket)
    assert "(5.0 MB)" in item.description
    assert "5.0 MB" in file_text(view) and "5.0 MB" in _file_line(view)


async def test_bidi_controls_are_taken_out_of_names_and_titles(world: World):
    ticket = await a_ticket(world)
    await world.agent.attach_data(ticket, "invoice\u202etxt.exe", b"MZ", title="Re\u2067port\u202c")
    (view,) = await world.agent.attachments(ticket)
    assert (view.name, view.title) == ("invoicetxt.exe", "Report")
    with pytest.raises(Exception, match="needs a name"):
        await world.agent.attach_data(ticket, "\u202e\u200f", b"MZ")
