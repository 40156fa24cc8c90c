"""The key of the outbox's fingerprints (`agent.queue.fingerprint`): kept in the keyring beside
the data key, made at first need, installed while the profile is open, and every stored
fingerprint brought to its form at open, so deduplication holds across the change.

A plain fingerprint (an earlier version's, or one written without a keyring) is converted
exactly, without the operation's fields. One keyed under another key (the entry was lost, or
replaced by a wipe) is rebuilt from the operation as stored now; an operation whose values do not
open keeps its fingerprint (it cannot be sent either, and only deduplication is at stake).

The data key's rotation (`keys rotate`) leaves this key: a fingerprint reveals nothing of the
fields without it, and keyed fingerprints cannot be converted to another key exactly. Signing out
with a wipe, which empties the outbox, replaces it (`renew`).
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import sqlite3

from agent.queue.fingerprint import fingerprint, is_plain, key_tag, keyed, use_key
from agent.security.errors import SealedPayloadError
from agent.security.keys import FINGERPRINT_KEY, DataKeyVault
from agent.store.connection import Store
from agent.store.models import OutboxOp, database_proxy

log = logging.getLogger(__name__)
KEY_BYTES = 32


def _load(vault: DataKeyVault) -> bytes | None:
    text = vault.load_entry(FINGERPRINT_KEY)
    if not text:
        return None
    try:
        key = base64.b64decode(text.encode(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:  # damaged: a new key, and the fingerprints rebuilt under it
        log.warning("profile %s: the fingerprint key is damaged; a new one is made", vault.profile)
        return None
    return key


def _make(vault: DataKeyVault) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    vault.save_entry(FINGERPRINT_KEY, base64.b64encode(key).decode())
    return key


def open_fingerprints(store: Store, vault: DataKeyVault | None) -> int:
    """Install the profile's fingerprint key (`vault` None: none, plain fingerprints) and bring
    every stored fingerprint to its form; returns how many were rewritten."""
    key = None if vault is None else (_load(vault) or _make(vault))
    use_key(key)
    return bring_to_form(store, key)


def renew(store: Store, vault: DataKeyVault) -> int:
    """Replace the key (the outbox was just wiped) and bring what is left to its form."""
    key = _make(vault)
    use_key(key)
    return bring_to_form(store, key)


def close() -> None:
    use_key(None)


def bring_to_form(store: Store, key: bytes | None) -> int:
    """Rewrite every fingerprint not in the form `key` asks for, in one transaction."""

    def run() -> int:
        conn: sqlite3.Connection = database_proxy.connection()
        if key is None:
            rows = conn.execute(
                "SELECT id, fingerprint FROM outbox_op WHERE substr(fingerprint, 1, 1) = 'k'"
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT id, fingerprint FROM outbox_op WHERE substr(fingerprint, 1, 9) != ?",
                (key_tag(key),),
            ).fetchall()
        changed = []
        for op_id, fp in rows:
            new = keyed(fp, key) if key is not None and is_plain(fp) else _rebuilt(op_id)
            if new is not None and new != fp:
                changed.append((new, op_id))
        conn.executemany("UPDATE outbox_op SET fingerprint = ? WHERE id = ?", changed)
        return len(changed)

    changed: int = store.write(run)
    if changed:
        log.info("%d outbox fingerprints brought to the profile's key", changed)
    return changed


def _rebuilt(op_id: int) -> str | None:
    """The fingerprint of the stored operation under the key in use (None: its fields do not
    open, so it keeps the one it has)."""
    op = OutboxOp.get_or_none(OutboxOp.id == op_id)
    if op is None:
        return None
    try:
        fields = op.fields
    except SealedPayloadError as exc:
        log.warning("fingerprint of operation #%s left as it is: %s", op_id, exc)
        return None
    return fingerprint(
        op.entity_type,
        op.kind,
        op.target_id,
        op.temp_id,
        op.parent_id,
        op.parent_temp_id,
        fields,
    )
