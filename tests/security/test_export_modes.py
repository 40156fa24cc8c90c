"""Files the program writes with decrypted text (audit and queue exports) are readable by the user
only, like the diagnostics bundle, also when they replace a file that was readable by others."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.api.facade import Agent
from tests.e2e.conftest import open_world

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
TYPED = "Server room door code 2468"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _exports(agent: Agent, folder: Path) -> list[Path]:
    targets = []
    for name, write in (
        ("audit.csv", lambda p: agent.export_audit(p, "csv")),
        ("audit.json", lambda p: agent.export_audit(p, "json")),
        ("queue.csv", agent.export_queue),
    ):
        target = folder / name
        await write(target)
        targets.append(target)
    return targets


async def test_exports_are_written_readable_by_the_user_only(tmp_path: Path) -> None:
    async with open_world(tmp_path / "data", "export-modes", 5) as world:
        agent = world.agent
        await agent.sync_now()
        ticket = (await agent.my_tickets())[0].id
        await agent.update_ticket(ticket, title=TYPED)
        out = tmp_path / "out"
        out.mkdir()
        old = os.umask(0o022)
        try:
            targets = await _exports(agent, out)
            for target in targets:
                assert mode(target) == 0o600, target
            assert TYPED in (out / "queue.csv").read_text(encoding="utf-8")
            # An existing file readable by others is replaced by a private one.
            for target in targets:
                target.chmod(0o644)
            targets = await _exports(agent, out)
        finally:
            os.umask(old)
        for target in targets:
            assert mode(target) == 0o600, target
        assert sorted(p.name for p in out.iterdir()) == ["audit.csv", "audit.json", "queue.csv"]
