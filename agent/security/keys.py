"""The profile's data key in the OS keyring, beside its credentials, with no plaintext fallback.

Entries live under the service of the database's keyring id (`keyring_service`), never under the
profile's name, so a data folder only ever reads, rotates or forgets its own:

- `data_key`: the key in use; `data_key_next` exists only while a rotation is under way, so a
  crash leaves both keys where the next start can find whichever the database uses;
- `data_key_created` / `data_key_next_created`: when each key was made (seconds since the epoch),
  written by `save`. A key without one came from an earlier version, whose keys were shared by
  every data folder of the same profile name: the profile replaces it at its next open;
- `encryption`: "off" once the user has explicitly chosen to keep the data in clear ("on", or no
  entry: encrypted). It is kept here, not in the database, so no edit of the file can decide it.

`OWNED_ENTRIES` lists every entry the vault keeps; other parts keeping text entries here (through
`load_entry` / `save_entry`) add theirs to it, so `forget_all` covers them too.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import time

from keyring.backend import KeyringBackend

from agent.credentials import CredentialError, CredentialStore, keyring_service
from agent.security.errors import DataKeyUnavailableError
from agent.security.sealing import KEY_BYTES

DATA_KEY = "data_key"
NEXT_DATA_KEY = "data_key_next"
CREATED_SUFFIX = "_created"
ENCRYPTION = "encryption"
# The directory address the user chose: the database's copy alone cannot send the credentials
# elsewhere (`agent.api.directory`).
DIRECTORY = "directory"
ENCRYPTION_ON, ENCRYPTION_OFF = "on", "off"
# The audit trail's chain key and its anchor (see `agent.security.audit_anchor`).
AUDIT_KEY = "audit_key"
AUDIT_ANCHOR = "audit_anchor"
# The key of the outbox's fingerprints (see `agent.security.fingerprints`).
FINGERPRINT_KEY = "fingerprint_key"
# How long the audit trail is kept, as set through the program (`agent.store.audit_retention`).
AUDIT_RETENTION = "audit_retention"
# Every entry of a database's that `DataKeyVault.forget_all` deletes.
OWNED_ENTRIES: tuple[str, ...] = (
    NEXT_DATA_KEY,
    NEXT_DATA_KEY + CREATED_SUFFIX,
    DATA_KEY,
    DATA_KEY + CREATED_SUFFIX,
    ENCRYPTION,
    AUDIT_ANCHOR,
    AUDIT_KEY,
    AUDIT_RETENTION,
    "location",  # where the database using these entries lives (`agent.security.identity`)
    DIRECTORY,
    FINGERPRINT_KEY,
)
_KEY_ENTRIES = (DATA_KEY, NEXT_DATA_KEY)
_KEYRING_ID = re.compile(r"[0-9a-f]{32}")


def is_keyring_id(text: str) -> bool:
    """Whether `text` has the form of a keyring id (32 lowercase hex digits)."""
    return bool(_KEYRING_ID.fullmatch(text))


class DataKeyVault:
    """Reads, keeps and forgets the data keys of the database whose keyring id is `keyring_id`
    (for messages, `profile` names the profile).

    Goes through `CredentialStore` so the keyring's errors and its refusal of unsafe backends
    are handled in one place for credentials and keys alike.
    """

    def __init__(
        self, profile: str, keyring_id: str, backend: KeyringBackend | None = None
    ) -> None:
        if not is_keyring_id(keyring_id):
            raise ValueError("a keyring id is 32 hex digits")
        self.profile = profile
        self.keyring_id = keyring_id
        self._entries = CredentialStore(profile, backend, service=keyring_service(keyring_id))
        self._created: dict[str, float | None] = {}  # read or written by this process

    @property
    def service(self) -> str:
        return self._entries.service

    def _call(self, fn: str, *args: str) -> str | None:
        try:
            return self._entries._call(fn, self.service, *args)
        except CredentialError as exc:
            raise DataKeyUnavailableError(self.profile, str(exc)) from None

    def load(self, entry: str = DATA_KEY) -> bytes | None:
        text = self._call("get_password", entry)
        if not text:
            return None
        try:
            key = base64.b64decode(text.encode(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise DataKeyUnavailableError(
                self.profile,
                f"its '{entry}' entry is damaged (not a 256-bit key). Nothing was changed; "
                "restore the keyring from a backup.",
            )
        return key

    def save(self, key: bytes, entry: str = DATA_KEY) -> None:
        """Keep `key` as `entry`, and the time it was made (now) beside it."""
        if len(key) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self._call("set_password", entry, base64.b64encode(key).decode())
        now = time.time()
        self._call("set_password", entry + CREATED_SUFFIX, repr(now))
        self._created[entry] = now

    def delete(self, entry: str = DATA_KEY) -> None:
        self._call("delete_password", entry)
        if entry in _KEY_ENTRIES:
            self._call("delete_password", entry + CREATED_SUFFIX)
            self._created[entry] = None

    def created(self, entry: str = DATA_KEY) -> float | None:
        """When the key in `entry` was made; None when not recorded (a key from an earlier
        version) or unreadable."""
        if entry not in self._created:
            text = self._call("get_password", entry + CREATED_SUFFIX)
            try:
                value = float(text) if text else math.nan
            except ValueError:
                value = math.nan
            self._created[entry] = value if math.isfinite(value) and value > 0 else None
        return self._created[entry]

    def encryption_chosen(self) -> bool | None:
        """The user's recorded choice: True (encrypt), False (keep in clear), None (none made,
        which means encrypt)."""
        text = self._call("get_password", ENCRYPTION)
        return None if text is None else text != ENCRYPTION_OFF

    def record_encryption(self, on: bool) -> None:
        self._call("set_password", ENCRYPTION, ENCRYPTION_ON if on else ENCRYPTION_OFF)

    def chosen_directory(self) -> str | None:
        """The directory address the user chose (`api_directory_url`), as recorded beside the
        credentials; "" when the user chose Autotask's own; None when nothing is recorded."""
        return self._call("get_password", DIRECTORY)

    def record_directory(self, url: str | None) -> None:
        """Record the user's choice of directory (an explicit action: Settings, the command
        line): credentials go only to zones a directory the user chose names."""
        self._call("set_password", DIRECTORY, url or "")

    def forget_all(self) -> None:
        """Delete every entry the vault owns (`OWNED_ENTRIES`); missing ones are skipped."""
        for entry in OWNED_ENTRIES:
            self._call("delete_password", entry)
        self._created.clear()

    # -- text entries kept beside the data key --------------------------------------------------
    def load_entry(self, entry: str) -> str | None:
        """The text of one of the profile's entries (None when there is none)."""
        return self._call("get_password", entry)

    def save_entry(self, entry: str, text: str) -> None:
        self._call("set_password", entry, text)
