"""Filling a profile's payload columns with recognisable text and reading it back raw."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from agent.profile import Profile
from agent.security.at_rest import PAYLOAD_COLUMNS
from agent.store.models import CachedEntity, Conflict, OutboxOp, OverlayValue

TITLE = "Boardroom projector smells of smoke"
NOTE = "Swapped the lamp module and cleaned filters"
THEIRS = "Dispatcher rewrote this title"


def fill(profile: Profile, n: int = 3) -> None:
    def run() -> None:
        for i in range(n):
            CachedEntity.create(
                entity_type="Tickets",
                entity_id=100 + i,
                data={"id": 100 + i, "title": f"{TITLE} #{i}", "description": NOTE * 5},
                fetched_at=1.0,
            )
        OverlayValue.create(
            entity_type="Tickets", entity_key="100", field="title", value=TITLE, updated_at=1.0
        )
        op = OutboxOp.create(
            kind="update",
            entity_type="Tickets",
            target_id=100,
            fields={"title": TITLE},
            base={"title": "old"},
            created_at=1.0,
            updated_at=1.0,
            fingerprint="f" * 64,
        )
        Conflict.create(
            op=op,
            entity_type="Tickets",
            entity_id=100,
            field="title",
            base="old",
            mine=TITLE,
            theirs=THEIRS,
            detected_at=1.0,
        )

    profile.store.write(run)


def snapshot(profile: Profile) -> dict[str, Any]:
    """Every payload value, decoded through the models (what the agent sees)."""

    def run() -> dict[str, Any]:
        return {
            "cached": sorted((r.entity_id, sorted(r.data.items())) for r in CachedEntity.select()),
            "overlay": [(r.field, r.value) for r in OverlayValue.select()],
            "conflict": [(r.base, r.mine, r.theirs, r.resolved_value) for r in Conflict.select()],
        }

    return profile.store.read(run)


def raw_blobs(database: Path) -> list[bytes]:
    """Every non-null payload value as stored, read with a separate plain connection."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        out: list[bytes] = []
        for c in PAYLOAD_COLUMNS:
            sql = f'SELECT "{c.column}" FROM "{c.table}" WHERE "{c.column}" IS NOT NULL'
            out += [bytes(r[0]) for r in conn.execute(sql)]
        return out
    finally:
        conn.close()


def file_digests(folder: Path) -> dict[str, str]:
    """What the folder's files hold. SQLite's shared-memory index (-shm) and an empty write-ahead
    log are left out: a connection still closing may leave them, and they hold no data."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
        and not p.name.endswith((".lock", "-shm"))
        and not (p.name.endswith("-wal") and p.stat().st_size == 0)
    }


def raw_bytes(paths: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.is_file())
