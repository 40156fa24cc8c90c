"""The profile's data key in the OS keyring, beside its credentials, with no plaintext fallback.

Entry `data_key` holds the key in use; `data_key_next` exists only while a rotation is under way,
so a crash leaves both keys where the next start can find whichever the database uses.
"""

from __future__ import annotations

import base64
import binascii

from keyring.backend import KeyringBackend

from agent.credentials import CredentialError, CredentialStore
from agent.security.errors import DataKeyUnavailableError
from agent.security.sealing import KEY_BYTES

DATA_KEY = "data_key"
NEXT_DATA_KEY = "data_key_next"
# The audit trail's chain key and its anchor (see `agent.security.audit_anchor`).
AUDIT_KEY = "audit_key"
AUDIT_ANCHOR = "audit_anchor"
# Every entry of a profile's that `DataKeyVault.forget_all` deletes.
OWNED_ENTRIES: tuple[str, ...] = (NEXT_DATA_KEY, DATA_KEY, AUDIT_ANCHOR, AUDIT_KEY)


class DataKeyVault:
    """Reads, keeps and forgets one profile's data keys (service `field-sync-autotask/<profile>`).

    Goes through `CredentialStore` so the keyring's errors and its refusal of unsafe backends
    are handled in one place for credentials and keys alike.
    """

    def __init__(self, profile: str, backend: KeyringBackend | None = None) -> None:
        self.profile = profile
        self._entries = CredentialStore(profile, backend)

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
        if len(key) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self._call("set_password", entry, base64.b64encode(key).decode())

    def delete(self, entry: str = DATA_KEY) -> None:
        self._call("delete_password", entry)

    def forget_all(self) -> None:
        for entry in OWNED_ENTRIES:
            self.delete(entry)

    def load_entry(self, entry: str) -> str | None:
        """The text of one of the profile's entries (None when there is none)."""
        return self._call("get_password", entry)

    def save_entry(self, entry: str, text: str) -> None:
        self._call("set_password", entry, text)
