"""The keyring id of a profile's database: the random name of its keyring entries, kept in the
database itself (row `keyring_id` of the settings table, which a salvage copies), so each data
folder's data key and credentials are its own even when two folders use the same profile name.

Entries of earlier versions (`legacy_service`): those versions named the entries after the
profile, so every data folder with that name shared them. At the first open of such a database
with a keyring, the profile adopts them:

1. a new id is made and the legacy entries are *copied* under it: the credentials always, the
   data keys only when the database holds encrypted values (otherwise a fresh key is made);
2. only then is the id written into the database, so a crash in between leaves at worst an unused
   copy in the keyring, never a database naming entries that do not exist;
3. the copied key has no creation time, so the profile re-encrypts everything under a key of its
   own at that same open (`agent.profile`): from then on no other folder holds a key that opens
   this folder's data, and its wipe or rotation touches only its own entries.

The legacy entries are never deleted automatically. Any number of other data folders with that
profile name (a second data folder, a copy on another disk) may not have been opened since the
update; nothing can tell whether one exists, and for such a folder the legacy data key is the
only key that opens its data. Deleting the entries could strand a folder with unsent work in it,
which is the failure this scheme exists to prevent. They stay in the keyring (which keeps them as
safely as before) until the user removes them once every such folder has been opened:
`autotask-agent keys forget-legacy --yes` (`forget_legacy`).

A database this version created never takes legacy entries: a new data folder starts signed out,
with a key of its own. Without a keyring, an earlier version's database gets no id yet (nothing
could be copied); the first open with a keyring adopts. The demo profile never adopts.

Beside its entries, an id records where the database using it lives (`LOCATION`). A database
opened from any other place (a copy, or the folder moved) never takes the id over, even when
nothing is at the recorded place now: the original may only be away for a while (a renamed
folder, an unmounted disk), and a wipe or rotation through the taken-over id would strand its
data. It forks instead: a new id, with copies of every entry it needs (`COPIED_ENTRIES`), and it
re-encrypts under a key of its own at that open. A folder really moved leaves its old entries
behind, unused (the keyring keeps them as safely as before; nothing can tell that the original
will never come back). The same file reached by another path (a symbolic link, another spelling
on a case-insensitive disk) is not a copy.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
from collections.abc import Callable, Mapping

from agent.credentials import (
    CREDENTIAL_ENTRIES,
    CredentialError,
    CredentialStore,
    keyring_service,
    legacy_service,
)
from agent.security.errors import DataKeyUnavailableError
from agent.security.keys import (
    AUDIT_ANCHOR,
    AUDIT_KEY,
    AUDIT_RETENTION,
    DATA_KEY,
    DIRECTORY,
    ENCRYPTION,
    FINGERPRINT_KEY,
    NEXT_DATA_KEY,
    is_keyring_id,
)
from agent.security.sealing import KEY_BYTES
from agent.store.connection import Store
from agent.store.models import Setting

log = logging.getLogger(__name__)
KEYRING_ID_ROW = "keyring_id"
LEGACY_ENTRIES = (*CREDENTIAL_ENTRIES, DATA_KEY, NEXT_DATA_KEY)
# Beside the keys: where the database that uses an id lives (a database anywhere else forks).
LOCATION = "location"
# What a copy of a data folder takes from its original's entries (not the keys' creation times:
# without one, the copy re-encrypts under a key of its own at once; not the location, its own):
# the keys, the encryption choice, the audit trail's key, anchor and retention, the directory
# chosen, the outbox fingerprints' key (so the copy's queued work still deduplicates).
COPIED_KEYS = (
    DATA_KEY,
    NEXT_DATA_KEY,
    ENCRYPTION,
    AUDIT_KEY,
    AUDIT_ANCHOR,
    AUDIT_RETENTION,
    DIRECTORY,
    FINGERPRINT_KEY,
)
# ... and the credentials, with the fleet's Redis address and password.
COPIED_ENTRIES = (*CREDENTIAL_ENTRIES, *COPIED_KEYS)


def _parse(profile: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, str) or not is_keyring_id(value):
        raise DataKeyUnavailableError(
            profile,
            "the keyring id recorded in its database is damaged, so its keyring entries cannot "
            "be found. Nothing was changed; restore the database from a backup.",
        )
    return value


def read_keyring_id(store: Store, profile: str) -> str | None:
    raw = store.read(
        lambda: Setting.select(Setting.value).where(Setting.key == KEYRING_ID_ROW).scalar()
    )
    return _parse(profile, raw)


def recorded_keyring_id(settings: Mapping[str, str]) -> str | None:
    """The id among a damaged file's settings rows (as a salvage reads them); None when absent
    or unreadable."""
    try:
        return _parse("", settings.get(KEYRING_ID_ROW))
    except DataKeyUnavailableError:
        return None


def _keyring_call(profile: str, service: str, fn: str, *args: str) -> str | None:
    try:
        return CredentialStore(profile, service=service)._call(fn, service, *args)
    except CredentialError as exc:
        raise DataKeyUnavailableError(profile, str(exc)) from None


def establish(
    store: Store, profile: str, *, keyring: bool, adopt: bool, sealed: Callable[[], bool]
) -> str:
    """The database's keyring id, made (and recorded) at its first open; `adopt` copies the
    legacy entries of an earlier version's database (`sealed()`: it holds encrypted values,
    whose key is copied too). An earlier version's database opened without a keyring gets an id for
    this open only: the first open with one adopts."""
    found = read_keyring_id(store, profile)
    if found is not None:
        return _own_copy(store, profile, found) if keyring and adopt else found
    new = secrets.token_hex(16)
    earlier = store.migrated_from != 0  # a database this version did not create
    if adopt and earlier:
        if not keyring:
            return new
        copied = copy_legacy_entries(profile, new, keys=sealed())
        if copied:
            log.info("profile %s: keyring entries %s copied to its own id", profile, copied)
    if keyring and adopt:  # where the database using the id lives, from its very first open
        here = str(store.path.resolve())
        _keyring_call(profile, keyring_service(new), "set_password", LOCATION, here)
    store.write(
        lambda: Setting.replace(key=KEYRING_ID_ROW, value=json.dumps(new)).execute(),
        durable=True,
    )
    return new


def _own_copy(store: Store, profile: str, keyring_id: str) -> str:
    """The id this database is to use: its own when the keyring records it at this very place
    (or records no place: an id from before places were recorded, which the first folder to
    open it claims); otherwise an id of its own, forked from `keyring_id` (see the module's
    text): the original's entries are copied under it, except the data key's creation time,
    so the copy re-encrypts under a key of its own at this open (as an adopted legacy key is)."""
    here = str(store.path.resolve())
    service = keyring_service(keyring_id)
    there = _keyring_call(profile, service, "get_password", LOCATION)
    if there == here:
        return keyring_id
    if there is None or _same_file(there, here):
        _keyring_call(profile, service, "set_password", LOCATION, here)
        return keyring_id
    new = secrets.token_hex(16)
    target = keyring_service(new)
    for entry in COPIED_ENTRIES:
        text = _keyring_call(profile, service, "get_password", entry)
        if text is not None:
            _keyring_call(profile, target, "set_password", entry, text)
    _keyring_call(profile, target, "set_password", LOCATION, here)
    store.write(
        lambda: Setting.replace(key=KEYRING_ID_ROW, value=json.dumps(new)).execute(),
        durable=True,
    )
    log.warning(
        "profile %s: a data folder opened away from %s (a copy, or moved) gets keyring entries "
        "of its own; those of id %s stay for the folder there (if it was moved, they are "
        "unused and may be deleted)",
        profile,
        there,
        keyring_id,
    )
    return new


def _same_file(there: str, here: str) -> bool:
    """Whether the recorded place and this one are the same database file (another path to it);
    False when the recorded place holds nothing now."""
    try:
        return os.path.samefile(there, here)
    except (OSError, ValueError):
        return False


def copy_legacy_entries(profile: str, keyring_id: str, *, keys: bool) -> list[str]:
    """Copy what the profile's legacy service holds to the id's own service (nothing is taken
    away from it); returns the entries copied."""
    source, target = legacy_service(profile), keyring_service(keyring_id)
    wanted = LEGACY_ENTRIES if keys else CREDENTIAL_ENTRIES
    copied = []
    for entry in wanted:
        text = _keyring_call(profile, source, "get_password", entry)
        if text is not None and _keyring_call(profile, target, "get_password", entry) is None:
            _keyring_call(profile, target, "set_password", entry, text)
            copied.append(entry)
    return copied


def legacy_keys(profile: str) -> list[bytes | None]:
    """The data keys of the profile's legacy service (to check values a salvage copies)."""
    keys: list[bytes | None] = []
    for entry in (DATA_KEY, NEXT_DATA_KEY):
        text = _keyring_call(profile, legacy_service(profile), "get_password", entry)
        try:
            key = base64.b64decode((text or "").encode(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        keys.append(key if len(key) == KEY_BYTES else None)
    return keys


def forget_legacy(profile: str) -> list[str]:
    """Delete the profile's legacy entries (the user's explicit step; see the module's text)."""
    removed = []
    for entry in LEGACY_ENTRIES:
        if _keyring_call(profile, legacy_service(profile), "get_password", entry) is not None:
            _keyring_call(profile, legacy_service(profile), "delete_password", entry)
            removed.append(entry)
    return removed
