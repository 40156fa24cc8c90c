"""At log level DEBUG the database layer logs its statements, never the values bound to them:
a captured edit's text reaches neither the log file nor the diagnostics bundle."""

from __future__ import annotations

import asyncio
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.monitor.diagnostics import build_diagnostics
from tests.e2e.conftest import open_world

TYPED = "Spare key is under the blue planter by door 14B"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("demo", [False, True], ids=["encrypted", "demo_profile"])
async def test_debug_logging_keeps_captured_text_out_of_the_log_and_diagnostics(
    tmp_path: Path, demo: bool
) -> None:
    async with open_world(tmp_path, "debug-log", 5) as world:
        agent = world.agent
        await agent.sync_now()
        if demo:  # as the demo profile: payloads in clear, so only the log can leak them
            at_rest = agent.profile.at_rest
            assert at_rest is not None
            await asyncio.to_thread(at_rest.set_enabled, False)
        logging.getLogger().setLevel(logging.DEBUG)
        ticket = (await agent.my_tickets())[0].id
        await agent.update_ticket(ticket, title=TYPED)
        lists = await agent.picklists("TicketNotes")
        await agent.add_note(
            ticket,
            TYPED + " (note)",
            title="Access",
            note_type=min(lists["noteType"]),
            publish=min(lists["publish"]),
        )
        await agent.sync_now()
        logging.getLogger("peewee").debug("probe: the peewee logger reaches the file")
        for handler in logging.getLogger().handlers:
            handler.flush()
        log_text = agent.profile.paths.log_file.read_text(encoding="utf-8")
        assert "SELECT" in log_text or "INSERT" in log_text  # statements are logged at DEBUG
        assert TYPED not in log_text
        bundle = build_diagnostics(agent.profile, tmp_path / "export")
        with zipfile.ZipFile(bundle) as z:
            leaked = [name for name in z.namelist() if TYPED.encode() in z.read(name)]
        assert leaked == []
