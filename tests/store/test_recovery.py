"""A damaged database file is never deleted: it is moved aside and the agent starts afresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.store import DatabaseCorruptError, Store
from agent.store.models import CachedEntity, Setting


def test_a_file_that_is_not_a_database_is_moved_aside_and_a_fresh_one_opens(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    garbage = b"this is not sqlite" * 100
    path.write_bytes(garbage)
    with Store(path) as store:
        notice = store.recovery
        assert notice is not None
        assert notice.moved_to.read_bytes() == garbage  # kept, byte for byte
        assert notice.moved_to.name.startswith("agent.sqlite3.corrupt-")
        assert str(path) in notice.message and str(notice.moved_to) in notice.message
        store.write(lambda: Setting.create(key="after", value="1"))
        assert store.integrity_check() == "ok"


def test_a_database_with_damaged_pages_is_detected_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    with Store(path) as store:
        store.write(
            lambda: [
                CachedEntity.create(
                    entity_type="Tickets", entity_id=i, data={"t": "x" * 500}, fetched_at=1.0
                )
                for i in range(300)
            ]
        )
        store.checkpoint()
    raw = bytearray(path.read_bytes())
    for offset in range(4096 * 3, min(len(raw), 4096 * 12), 7):  # scribble over b-tree pages
        raw[offset] = 0xA5
    path.write_bytes(bytes(raw))
    with Store(path) as store:
        assert store.recovery is not None
        assert store.recovery.moved_to.read_bytes() == bytes(raw)
        assert store.read(lambda: CachedEntity.select().count()) == 0


def test_unmovable_damaged_file_raises_a_clear_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "agent.sqlite3"
    path.write_bytes(b"garbage" * 10)

    def refuse(self: Path, target: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "rename", refuse)
    with pytest.raises(DatabaseCorruptError) as err:
        Store(path)
    assert str(path) in str(err.value)
    assert path.read_bytes() == b"garbage" * 10  # still there, untouched
