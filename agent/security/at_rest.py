"""Encryption at rest of every payload column: opening with the right key, switching on and off,
and rotating the key, each a single pass that either commits whole or leaves the data as it was.

A key is removed from the keyring only after a scan shows that no stored value uses it, so no
crash, wrong key or missing key can make data unreadable; opening with a key that does not fit
raises before anything is written.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

import peewee

from agent.security.errors import (
    DataKeyMissingError,
    SealedPayloadError,
    SecurityError,
    WrongDataKeyError,
)
from agent.security.keys import DATA_KEY, NEXT_DATA_KEY, DataKeyVault
from agent.security.sealing import (
    FLAG_BOUND,
    FLAG_ROW,
    SEALED_V1,
    SealingCodec,
    key_id,
    new_data_key,
)
from agent.store.codec import (
    JsonCodec,
    PayloadField,
    column_context,
    get_codec,
    row_key,
    set_codec,
)
from agent.store.connection import Store
from agent.store.errors import translate
from agent.store.models import ALL_MODELS, Setting, database_proxy

log = logging.getLogger(__name__)
SLICE = 500
# Settings rows earlier versions read to decide encryption (see `agent.security.encryption`).
OBSOLETE_ROWS = ("encrypt_at_rest", "demo_mode")


@dataclass(frozen=True)
class PayloadColumn:
    table: str
    column: str
    key: tuple[str, ...] = ()  # the columns of the row's key its values are bound to

    @property
    def context(self) -> str:
        return column_context(self.table, self.column)

    @property
    def binding(self) -> int:
        """The flags every sealed value of this column carries once bound as it asks."""
        return (FLAG_BOUND | FLAG_ROW) if self.context else 0


PAYLOAD_COLUMNS: tuple[PayloadColumn, ...] = tuple(
    PayloadColumn(model._meta.table_name, f.column_name, tuple(model._meta.row_key))
    for model in ALL_MODELS
    for f in model._meta.sorted_fields
    if isinstance(f, PayloadField)
)


@dataclass(frozen=True)
class SealState:
    """How the payload columns are stored right now."""

    plain_rows: int
    sealed_rows: int
    key_ids: frozenset[bytes]
    # Sealed values not bound to their column and row as their column now asks.
    misbound_rows: int = 0


def scan(store: Store) -> SealState:
    """Count plain and sealed values and list the keys the sealed ones need (reads only)."""
    marker = bytes((SEALED_V1,))

    def run() -> SealState:
        conn: sqlite3.Connection = store.db.connection()
        plain = sealed = misbound = 0
        ids: set[bytes] = set()
        for c in PAYLOAD_COLUMNS:
            col, table = f'"{c.column}"', f'"{c.table}"'
            for first, kid, flags, n in conn.execute(
                f"SELECT substr({col},1,1) = ?, CASE WHEN substr({col},1,1) = ? "
                f"THEN substr({col},3,4) END, CASE WHEN substr({col},1,1) = ? "
                f"THEN hex(substr({col},2,1)) END, COUNT(*) FROM {table} "
                f"WHERE {col} IS NOT NULL GROUP BY 1, 2, 3",
                (marker, marker, marker),
            ):
                if first:
                    sealed += n
                    ids.add(bytes(kid))
                    if int(flags, 16) & (FLAG_BOUND | FLAG_ROW) != c.binding:
                        misbound += n
                else:
                    plain += n
        return SealState(plain, sealed, frozenset(ids), misbound)

    return store.read(run)


class AtRest:
    """The profile's payload protection while its store is open; installs its codec."""

    def __init__(self, store: Store, vault: DataKeyVault, codec: SealingCodec) -> None:
        self.store = store
        self.vault = vault
        self.codec = codec
        set_codec(codec)

    @property
    def enabled(self) -> bool:
        return self.codec.sealing_key_id is not None

    def close(self) -> None:
        """Stop using this profile's keys in the process (the next store starts plain)."""
        if get_codec() is self.codec:
            set_codec(JsonCodec())

    # -- passes over every payload column ----------------------------------------------------
    def _reseal(self, target: bytes | None, *, setting: bool | None = None) -> int:
        """Rewrite every payload value sealed with `target` (plain when None) in one
        transaction on the writer thread; the codec seals with `target` from inside it, so no
        other write can slip in between with the old key."""
        db = self.store.db
        previous = self.codec.sealing_key

        def run() -> int:
            try:
                with db.atomic():
                    self.codec.seal_with(target)
                    changed = _rewrite_all(db.connection(), self.codec)
                    if setting is not None:
                        _save_setting(setting)
            except BaseException as exc:
                self.codec.seal_with(previous)  # still on the writer: no write saw `target`
                if isinstance(exc, sqlite3.Error | peewee.DatabaseError):
                    raise translate(exc, self.store.path) from exc
                raise
            return changed

        # Not `store.write`: the codec must switch, and switch back on failure, on the thread
        # that commits, inside the same transaction as the rewrite.
        changed: int = self.store._writer.run(run, transactional=False)
        # Old forms of the values would linger in free pages and the WAL until overwritten.
        self.store.vacuum()
        return changed

    def set_enabled(self, on: bool) -> int:
        """Switch sealing on (encrypting every value in place) or off (decrypting in place), and
        record the choice in the keyring beside the key (`agent.security.encryption`): "on"
        before the pass, "off" only after it committed, so a crash leaves the data encrypted
        at the next open rather than decrypted against the choice. Returns values rewritten."""
        target = None
        if on:
            target = self.vault.load(DATA_KEY)
            if target is None:
                target = new_data_key()
                self.vault.save(target)
            self.codec.add_key(target)
            self.vault.record_encryption(True)
        changed = self._reseal(target, setting=on)
        if not on:
            self.vault.record_encryption(False)
        return changed

    def rotate(self) -> int:
        """Seal every value with a new key; the old key stays in the keyring until the pass has
        committed and a scan shows nothing uses it. Returns values rewritten."""
        old_id = self.codec.sealing_key_id
        if old_id is None:
            raise SecurityError(
                "Encryption at rest is off for this profile; there is no key to rotate."
            )
        new = new_data_key()
        self.vault.save(new, NEXT_DATA_KEY)  # first, so a crash after the commit still finds it
        self.codec.add_key(new)
        changed = self._reseal(new)
        left = scan(self.store)
        if not left.key_ids <= {key_id(new)}:
            rows = self.store.read(lambda: _sealed_with(old_id))
            named = ", ".join(rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
            raise SecurityError(
                "The key rotation left values that cannot be opened (changed on disk, or copied "
                f"from another record): {named or 'values'}. Both keys were kept. Discard those "
                "records (or sign out with a wipe) and rotate again."
            )
        self.vault.save(new, DATA_KEY)
        self.vault.delete(NEXT_DATA_KEY)
        self.codec.drop_key(old_id)
        log.info("data key rotated (%d values re-encrypted)", changed)
        return changed


def _sealed_with(kid: bytes) -> list[str]:
    """The rows ("table.column of row key") holding a value sealed with key id `kid`."""
    conn: sqlite3.Connection = database_proxy.connection()
    marker = bytes((SEALED_V1,))
    found = []
    for c in PAYLOAD_COLUMNS:
        keys = ", ".join(f'"{k}"' for k in c.key) or "rowid"
        col = f'"{c.column}"'
        for row in conn.execute(
            f'SELECT {keys} FROM "{c.table}" WHERE substr({col},1,1) = ? AND substr({col},3,4) = ?',
            (marker, kid),
        ):
            found.append(f"{c.table}.{c.column} of {' '.join(str(v) for v in row)}")
    return found


def _rewrite_all(conn: sqlite3.Connection, codec: SealingCodec) -> int:
    """Open every value (whatever it was bound to: a pass re-binds values written before their
    column or row started binding) and write it again in the codec's current form, bound to its
    column and its row's key. A value that does not open (changed on disk, or copied from
    another row) is left as it is and logged: its row reads as unreadable, the rest is done."""
    changed = 0
    for c in PAYLOAD_COLUMNS:
        col, table = f'"{c.column}"', f'"{c.table}"'
        keys = "".join(f', "{k}"' for k in c.key)
        last = -(2**63)
        while True:
            rows = conn.execute(
                f"SELECT id{keys}, {col} FROM {table} WHERE id > ? AND {col} IS NOT NULL "
                f"ORDER BY id LIMIT {SLICE}",
                (last,),
            ).fetchall()
            if not rows:
                break
            rewritten = []
            for i, *key, blob in rows:
                row = row_key(*key) if c.context else b""
                try:
                    value = codec.open(blob, c.context, row, any_binding=True)
                except (SealedPayloadError, ValueError) as exc:
                    log.warning("left as it is: %s", exc)
                    continue
                rewritten.append((codec.encode(value, c.context, row), i))
            conn.executemany(f"UPDATE {table} SET {col} = ? WHERE id = ?", rewritten)
            changed += len(rewritten)
            last = rows[-1][0]
    return changed


def _save_setting(on: bool) -> None:
    """The choice is kept in the keyring, where no edit of the file can change it; the row an
    earlier version kept in the settings table (read by nothing now) goes with the pass."""
    Setting.delete().where(Setting.key << OBSOLETE_ROWS).execute()


def open_at_rest(store: Store, vault: DataKeyVault, *, enabled: bool) -> AtRest:
    """Check the keyring's keys against the database, finish an interrupted rotation, bring
    every value to the wanted form (sealed with the current key, or plain) and install the codec.

    Raises `DataKeyMissingError` / `WrongDataKeyError` / `DataKeyUnavailableError` before
    writing anything when the stored values cannot be opened."""
    state = scan(store)
    current = pending = None
    if enabled or state.sealed_rows:
        current = vault.load(DATA_KEY)
        pending = vault.load(NEXT_DATA_KEY)
    held = {key_id(k): k for k in (current, pending) if k is not None}
    if state.key_ids - held.keys():
        if not held:
            raise DataKeyMissingError(vault.profile, store.path)
        raise WrongDataKeyError(vault.profile, store.path)
    if pending is not None and (
        current is None
        or (key_id(pending) in state.key_ids and key_id(current) not in state.key_ids)
    ):
        vault.save(pending, DATA_KEY)  # the rotation had committed: adopt its key
        current = pending
    if enabled and current is None:
        current = new_data_key()
        vault.save(current)
    codec = SealingCodec(held.values())
    if current is not None:
        codec.add_key(current)
    codec.seal_with(current if enabled else None)
    at_rest = AtRest(store, vault, codec)
    target_id = key_id(current) if enabled and current is not None else None
    stray = {k for k in state.key_ids if k != target_id}
    if stray or state.misbound_rows or (enabled and state.plain_rows):
        log.info(
            "bringing %d stored values to the wanted form", state.plain_rows + state.sealed_rows
        )
        try:
            at_rest._reseal(current if enabled else None)
        except BaseException:
            at_rest.close()
            raise
    if pending is not None:  # adopted as DATA_KEY, or used by no stored value any more
        vault.delete(NEXT_DATA_KEY)
    return at_rest


def rotate_data_key(store: Store, vault: DataKeyVault) -> int:
    """Rotate the data key of the open `store` (whose sealing codec is installed)."""
    codec = get_codec()
    if not isinstance(codec, SealingCodec) or codec.sealing_key_id is None:
        raise SecurityError(
            "Encryption at rest is off for this profile; there is no key to rotate."
        )
    return AtRest(store, vault, codec).rotate()
