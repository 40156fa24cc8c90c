"""The audit trail's key and anchor, kept in the profile's keyring entries beside its data key.

`open_audit_chain` reads (or makes) the key that chains the trail (see `agent.store.audit_chain`)
and installs it; from then on every appended event is keyed. The anchor, the chain's head (how
many events it holds and the last one's hash), is written to the keyring after commits, never in
the hot path: an append only takes note, and a background thread writes the anchor about a second
after the last one (and on close). So the anchor may lag behind the database by the last few
events after a crash, which verification allows; the database behind its anchor is what it
reports. Before each keyring write, the same anchor is committed into the database with a full
sync (`audit_anchor` table): that makes every event it covers durable first, and tells a trail
cut at its end (the database's copy is ahead of the trail) from a file put back to an older copy.

At open, events hashed without the key that make up the whole trail (written before the trail
was keyed: an existing database's trail, kept as it is, not re-hashed) are admitted by a keyed
`KEYED` event that counts them, but only when the anchor still matches. Unkeyed events after keyed
ones are never admitted: a run without the keyring writes them, but so could anyone who edits the
file (a plain hash needs no key), so `audit verify` reports them rather than vouch for them.
After a salvage, the anchor is set again (`REANCHORED` names the one it replaces).

Beside the anchor, the audit retention in force is kept (`agent.store.audit_retention`): set
through the program, or on the first start that has none, the period used until then.
"""

from __future__ import annotations

import base64
import logging
import secrets
import sqlite3
import threading
import time
from typing import Any

from agent.security.errors import DataKeyUnavailableError
from agent.security.keys import AUDIT_ANCHOR, AUDIT_KEY, AUDIT_RETENTION, DataKeyVault
from agent.store import audit
from agent.store.audit_chain import (
    GENESIS,
    KEYED,
    PRUNED,
    REANCHORED,
    START,
    VALUES_COLUMN,
    Anchor,
    ChainKeying,
    detail_json,
    digest,
    install,
    uninstall,
)
from agent.store.audit_retention import RetentionAnchor, first
from agent.store.codec import get_codec, row_key
from agent.store.connection import Store
from agent.store.models import database_proxy
from agent.store.salvage import SALVAGED

log = logging.getLogger(__name__)
KEY_BYTES = 32
DELAY_S = 1.0  # how long after the last append the anchor is written

_ROW = (
    'SELECT id, at, action, entity_type, entity_id, op_id, detail, "values", prev_hash, hash '
    "FROM audit_event"
)
_SAVE_COPY = (
    'INSERT OR REPLACE INTO audit_anchor (id, "count", head, pruned, at) VALUES (1, ?, ?, ?, ?)'
)


def load_audit_key(vault: DataKeyVault) -> bytes | None:
    """The profile's audit key (None when it has none yet); a damaged entry raises."""
    return vault.load(AUDIT_KEY)  # read and checked as the data key is


def _new_key(vault: DataKeyVault) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    vault.save_entry(AUDIT_KEY, base64.b64encode(key).decode())
    return key


def _conn() -> sqlite3.Connection:
    conn: sqlite3.Connection = database_proxy.connection()
    return conn


def _removed_total(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT detail FROM audit_event WHERE action = ? ORDER BY id DESC LIMIT 1", (PRUNED,)
    ).fetchone()
    if row is None:
        return 0
    total = audit.merge_detail(row[0], None).get("removed_total", 0)
    return total if isinstance(total, int) else 0


def _is_keyed(row: tuple[Any, ...], key: bytes) -> bool | None:
    """Whether a stored event is hashed with `key` (True), plainly (False), or neither (None)."""
    try:
        blob = row[7]
        values = (
            None
            if blob is None
            else detail_json(get_codec().decode(blob, VALUES_COLUMN, row_key(row[9])))
        )
    except Exception:  # values that cannot be opened: changed, or damaged
        return None
    fields = (row[8], row[1], row[2], row[3], row[4], row[5], row[6], values)
    if digest(*fields, key=key) == row[9]:
        return True
    return False if digest(*fields) == row[9] else None


class AuditChain:
    """One open profile's keyed chain: its key in use and the anchor it keeps up to date."""

    def __init__(self, store: Store, vault: DataKeyVault, key: bytes, anchor: Anchor | None):
        self.store, self.vault = store, vault
        self.key, self.anchor = key, anchor
        self.frozen = False  # the trail no longer matches its anchor: never move it on
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retention: RetentionAnchor | None = None  # the last read or written
        self.keying = self._keying()

    def _keying(self) -> ChainKeying:
        return ChainKeying(self.key, self._appended, self.stored_anchor, self.retention)

    # -- the retention in force --------------------------------------------------------------
    def retention(self) -> RetentionAnchor | None:
        """The audit retention as the keyring holds it (None: never anchored)."""
        anchored = RetentionAnchor.parse(self.vault.load_entry(AUDIT_RETENTION))
        self._retention = anchored or self._retention
        return anchored

    def anchor_retention(self, days: int) -> None:
        """Keep `days` as the audit retention in force (set through the program)."""
        current = self.retention()
        anchored = first(days) if current is None else current.changed(days)
        if anchored != current:
            self.vault.save_entry(AUDIT_RETENTION, anchored.text())
        self._retention = anchored

    def retention_at_open(self, *, used: int, policy: int | None) -> None:
        """Anchor the period the administrator's policy sets, if it does; else, when none is
        anchored yet, the period used until now (`used`, the stored setting)."""
        if policy is not None:
            self.anchor_retention(policy)
        elif self.retention() is None:
            self.anchor_retention(used)

    def _appended(self) -> None:
        if not self._dirty.is_set():
            self._dirty.set()

    def stored_anchor(self) -> Anchor | None:
        """The anchor as the keyring holds it now."""
        return Anchor.parse(self.vault.load_entry(AUDIT_ANCHOR))

    # -- at open -----------------------------------------------------------------------------
    def settle(self, now: float) -> None:
        """Set the anchor again after a salvage, and admit the unkeyed events at the head."""
        self.store.write(lambda: self._settle(now))

    def _settle(self, now: float) -> None:
        conn = _conn()
        if not self._anchor_holds(conn):
            salvaged = self._unanchored_salvage(conn)
            if salvaged is None:
                self.frozen = True
                log.error(
                    "the audit trail does not match its anchor in the keyring (events removed, "
                    "rewritten, or an older copy of the database); `audit verify` says which"
                )
                return
            assert self.anchor is not None
            found = conn.execute(
                "SELECT 1 FROM audit_event WHERE hash = ?", (self.anchor.head,)
            ).fetchone()
            replaced = {
                "anchor_count": self.anchor.count,
                "anchor_head": self.anchor.head,
                "head_found": found is not None,
            }
            audit.append(REANCHORED, at=now, detail=replaced)
            self.anchor = None
        unkeyed, starts_after = self._unkeyed_head(conn)
        if unkeyed and starts_after is None:
            # Unkeyed events after keyed ones: written by a run without the keyring, or added
            # by someone who edited the file; nothing can tell the two apart, so they are not
            # vouched for: `audit verify` reports them.
            log.warning(
                "%d audit events at the end of the trail were written without the audit key; "
                "`audit verify` reports them",
                unkeyed,
            )
        elif unkeyed:
            detail: dict[str, Any] = {"unkeyed": unkeyed}
            if starts_after is not None:
                detail["starts_after"] = starts_after
            audit.append(KEYED, at=now, detail=detail)

    def _anchor_holds(self, conn: sqlite3.Connection) -> bool:
        anchor = self.anchor
        if anchor is None or anchor.count == 0:
            return True
        row = conn.execute(f"{_ROW} WHERE action = ? ORDER BY id DESC LIMIT 1", (REANCHORED,))
        last = row.fetchone()
        said = audit.merge_detail(last[6], None) if last and _is_keyed(last, self.key) else {}
        if said.get("anchor_count") == anchor.count and said.get("anchor_head") == anchor.head:
            self.anchor = None  # set again after a salvage; the update after it did not happen
            return True
        found = conn.execute("SELECT id FROM audit_event WHERE hash = ?", (anchor.head,)).fetchone()
        if found is None:
            return False
        before = conn.execute("SELECT COUNT(*) FROM audit_event WHERE id <= ?", found).fetchone()
        return bool(_removed_total(conn) + before[0] == anchor.count)

    def _unanchored_salvage(self, conn: sqlite3.Connection) -> int | None:
        """The id of a keyed salvage event newer than the anchor, after which the anchor was not
        set again."""
        query = f"{_ROW} WHERE action = ? ORDER BY id DESC LIMIT 1"
        row = conn.execute(query, (SALVAGED,)).fetchone()
        if row is None or not _is_keyed(row, self.key):
            return None
        if self.anchor is not None and self.anchor.salvaged == row[9]:
            return None  # the anchor was written after it: not the salvage that lost its head
        later = conn.execute(
            "SELECT 1 FROM audit_event WHERE action = ? AND id > ?", (REANCHORED, row[0])
        ).fetchone()
        return None if later is not None else int(row[0])

    def _unkeyed_head(self, conn: sqlite3.Connection) -> tuple[int, str | None]:
        """How many unkeyed events end the trail, and, when nothing before them is keyed, the
        `prev_hash` the first of them has. (0, None) when an event matches neither hash."""
        count, first_prev = 0, None
        for row in conn.execute(f"{_ROW} ORDER BY id DESC"):
            keyed = _is_keyed(row, self.key)
            if keyed is None:
                return 0, None
            if keyed:
                return count, None
            count, first_prev = count + 1, row[8]
        return count, first_prev

    # -- the anchor --------------------------------------------------------------------------
    def _head(self) -> Anchor | None:
        """The committed head as an anchor, counted on from the current anchor (None when the
        anchored event is gone: the trail no longer follows on from it)."""
        conn = _conn()
        conn.execute("BEGIN")
        try:
            head = conn.execute("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")
            last = head.fetchone()
            pruned = _removed_total(conn)
            anchor = self.anchor
            if last is None:
                return START if anchor is None or anchor.count == 0 else None
            salvage = conn.execute(
                "SELECT hash FROM audit_event WHERE action = ? ORDER BY id DESC LIMIT 1",
                (SALVAGED,),
            ).fetchone()
            salvaged = "" if salvage is None else str(salvage[0])
            if anchor is None or anchor.count == 0:
                total = conn.execute("SELECT COUNT(*) FROM audit_event").fetchone()[0]
                return Anchor(pruned + total, last[1], pruned, salvaged)
            at = conn.execute("SELECT id FROM audit_event WHERE hash = ?", (anchor.head,))
            found = at.fetchone()
            if found is None:
                return None
            newer = conn.execute("SELECT COUNT(*) FROM audit_event WHERE id > ?", found)
            return Anchor(anchor.count + newer.fetchone()[0], last[1], pruned, salvaged)
        finally:
            conn.execute("COMMIT")

    def flush(self) -> None:
        """Anchor the committed head now (the database's copy first, with a full sync)."""
        with self._lock:
            if self.frozen:
                return
            self._dirty.clear()
            head = self.store.read(self._head)
            if head is None:
                self.frozen = True
                log.error("the audit trail no longer follows on from its anchor; not moving it")
                return
            if head == self.anchor:
                return
            self.store.write(lambda: self._save_copy(head), durable=True)
            self.vault.save_entry(AUDIT_ANCHOR, head.text())
            self.anchor = head

    @staticmethod
    def _save_copy(anchor: Anchor) -> None:
        _conn().execute(_SAVE_COPY, (anchor.count, anchor.head, anchor.pruned, time.time()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._dirty.wait()
            if self._stop.wait(DELAY_S):
                return
            try:
                self.flush()
            except Exception:  # a locked keyring, a busy disk: the anchor lags, tried again
                log.warning("the audit anchor could not be updated", exc_info=True)

    def start(self) -> None:
        install(self.keying)
        self._thread = threading.Thread(target=self._loop, name="audit-anchor", daemon=True)
        self._thread.start()

    def _halt(self) -> None:
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        """Anchor what was committed and stop (before the store closes)."""
        self._halt()
        try:
            self.flush()
        except Exception:
            log.warning("the audit anchor could not be updated at close", exc_info=True)
        uninstall(self.keying)

    # -- sign-out ----------------------------------------------------------------------------
    def restart(self) -> None:
        """Delete the whole trail and start a new one under a new key (the old key and anchor
        are deleted from the keyring)."""
        with self._lock:

            def wipe() -> None:
                _conn().execute("DELETE FROM audit_event")
                _conn().execute("DELETE FROM audit_anchor")

            self.store.write(wipe)
            self.vault.delete(AUDIT_ANCHOR)
            self.vault.delete(AUDIT_KEY)
            uninstall(self.keying)
            self.key, self.anchor, self.frozen = _new_key(self.vault), START, False
            self.vault.save_entry(AUDIT_ANCHOR, START.text())
            if self._retention is not None:  # a new trail: no checkpoint of the old one left
                self._retention = first(self._retention.days)
                self.vault.save_entry(AUDIT_RETENTION, self._retention.text())
            self.keying = self._keying()
            install(self.keying)

    def keep(self) -> None:
        """Write the key, anchor and retention back (after every entry of the profile was
        forgotten, while its trail is kept)."""
        with self._lock:
            self.vault.save_entry(AUDIT_KEY, base64.b64encode(self.key).decode())
            if self.anchor is not None:
                self.vault.save_entry(AUDIT_ANCHOR, self.anchor.text())
            if self._retention is not None:
                self.vault.save_entry(AUDIT_RETENTION, self._retention.text())


def open_audit_chain(store: Store, vault: DataKeyVault, *, now: float | None = None) -> AuditChain:
    """Key the open `store`'s trail with the profile's audit key (made on first use), bring the
    anchor up to date and keep it so; raises `DataKeyUnavailableError` before changing anything
    when the keyring cannot be used."""
    key = load_audit_key(vault)
    if key is None:
        key = _new_key(vault)
        vault.delete(AUDIT_ANCHOR)  # an anchor without its key (left by a crash) means nothing
    chain = AuditChain(store, vault, key, Anchor.parse(vault.load_entry(AUDIT_ANCHOR)))
    install(chain.keying)  # the events `settle` appends are keyed
    try:
        chain.settle(time.time() if now is None else now)
        chain.flush()
    except BaseException:
        uninstall(chain.keying)
        raise
    chain.start()
    return chain


def try_open_audit_chain(store: Store, vault: DataKeyVault) -> AuditChain | None:
    """`open_audit_chain`, or None (the trail unkeyed this time, and said so in the log) when
    the keyring cannot give the audit key: the work of the day never waits on the audit key.
    What is appended meanwhile is admitted by the next start that has the key, if the anchor
    still matches then."""
    try:
        return open_audit_chain(store, vault)
    except DataKeyUnavailableError as exc:
        log.warning("the audit trail is not keyed for this run: %s", exc)
        return None


__all__ = ["GENESIS", "AuditChain", "load_audit_key", "open_audit_chain", "try_open_audit_chain"]
