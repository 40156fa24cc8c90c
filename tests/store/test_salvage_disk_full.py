"""A disk that fills while a damaged database is being salvaged loses nothing: the damaged file
stays where it was, the start says the disk is full, and the next start (with space back)
salvages it."""

from __future__ import annotations

import pytest

from agent.store.errors import DiskFullError
from tests.store.machine import fill, small_tmpfs
from tests.store.salvage_template import server_notes, world_with_unsent_notes
from tests.store.salvage_world import NOTES, leaf_rowids, scribble


# Left free: none (refused before anything is moved), and enough to move the file aside and
# start the fresh one but not to finish the salvage.
@pytest.mark.parametrize("leave", [0, 65536, 262144])
async def test_a_full_disk_during_salvage_puts_the_damaged_file_back(tmp_path, leave) -> None:  # type: ignore[no-untyped-def]
    with small_tmpfs(tmp_path / "disk", size="16m") as disk:
        world, ops = await world_with_unsent_notes(disk)
        leaves = leaf_rowids(world.database, "outbox_op")
        hit = sorted(leaves)[1:2]
        lost = {rowid for page in hit for rowid in leaves[page]}
        scribble(world.database, hit)
        damaged = world.database.read_bytes()
        folder = world.database.parent
        filler = fill(disk, leave=leave)

        with pytest.raises(DiskFullError):
            await world.open()
        assert world.database.read_bytes() == damaged, "the damaged file is back, unchanged"
        assert not [p for p in folder.iterdir() if ".corrupt-" in p.name]

        filler.unlink()  # space is back
        agent = await world.open()
        try:
            notice = agent.profile.recovery
            assert notice is not None and notice.salvage is not None
            assert notice.salvage.operations.recovered == NOTES - len(lost)
            await agent.sync_now()
            await agent.sync_now()
            on_server = server_notes(world)
            for op_id, n in ops.items():
                assert on_server(n) == (0 if op_id in lost else 1), (op_id, n)
        finally:
            await agent.close()
