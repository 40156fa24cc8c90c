"""The outbox's raw-SQL paths store payloads through the codec: sealed, and (once they name their
column) bound to it; values written before a column started binding are re-bound at open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.clock import FakeClock
from agent.profile import Profile, open_profile
from agent.queue import SQLiteBackend
from agent.queue.operation import NewOperation
from agent.security.at_rest import scan
from agent.security.errors import SealedPayloadError
from agent.security.sealing import SEALED_V1, SealingCodec
from agent.store.codec import get_codec
from agent.store.models import CachedEntity, OpKind

SECRET_TEXT = "Customer's alarm code is 4471"


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = open_profile(tmp_path, "default")
    yield p
    p.close()


def enqueue(profile: Profile) -> int:
    outbox = SQLiteBackend(profile.store, FakeClock())
    op = outbox.enqueue(
        NewOperation(
            OpKind.UPDATE,
            "Tickets",
            target_id=7,
            fields={"description": SECRET_TEXT},
            base={"description": "before"},
        )
    )
    return op.id


def raw_outbox(profile: Profile) -> list[tuple[bytes, bytes]]:
    profile.store.checkpoint()
    conn = sqlite3.connect(profile.paths.database)
    try:
        return [(bytes(f), bytes(b)) for f, b in conn.execute("SELECT fields, base FROM outbox_op")]
    finally:
        conn.close()


def test_outbox_payloads_written_by_raw_sql_are_sealed(profile: Profile) -> None:
    op_id = enqueue(profile)
    rows = raw_outbox(profile)
    assert rows and all(f[0] == SEALED_V1 and b[0] == SEALED_V1 for f, b in rows)
    assert all(SECRET_TEXT.encode() not in f for f, _ in rows)
    op = SQLiteBackend(profile.store, FakeClock()).get(op_id)
    assert op is not None and op.fields == {"description": SECRET_TEXT}


def test_swapping_an_operations_fields_and_base_is_detected(profile: Profile) -> None:
    op_id = enqueue(profile)
    conn = sqlite3.connect(profile.paths.database)
    try:
        conn.execute("UPDATE outbox_op SET fields = base, base = fields WHERE id = ?", (op_id,))
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(SealedPayloadError):
        SQLiteBackend(profile.store, FakeClock()).get(op_id)


def test_values_sealed_without_their_column_are_rebound_at_open(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    codec = get_codec()
    assert isinstance(codec, SealingCodec)
    unbound = codec.encode({"title": SECRET_TEXT})  # as a caller that names no column writes
    conn = sqlite3.connect(profile.paths.database)
    conn.execute(
        "INSERT INTO cached_entity (entity_type, entity_id, data, fetched_at, deleted_on_server)"
        " VALUES ('Tickets', 5, ?, 1.0, 0)",
        (unbound,),
    )
    conn.commit()
    conn.close()
    assert scan(profile.store).misbound_rows == 1
    with pytest.raises(SealedPayloadError, match="not written there"):
        profile.store.read(lambda: CachedEntity.get(CachedEntity.entity_id == 5).data)
    profile.close()
    profile = open_profile(tmp_path, "default")
    try:
        assert scan(profile.store).misbound_rows == 0
        data = profile.store.read(lambda: CachedEntity.get(CachedEntity.entity_id == 5).data)
        assert data == {"title": SECRET_TEXT}
    finally:
        profile.close()
