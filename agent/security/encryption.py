"""Whether a profile's local data is encrypted at rest: decided from the keyring, never from the
database, whose every row anyone able to write the file could change.

The decision, made when the profile opens (`decide`):

- the demo profile (public sample data; the demo must start anywhere): never encrypted;
- a usable keyring: encrypted, unless the keyring's own `encryption` entry (beside the data key)
  says "off". Only an explicit action of the user writes "off": `autotask-agent keys decrypt
  --yes-store-in-clear`, or `Agent.set_encryption(False, store_in_clear=True)` from the window.
  No setting and no row of the database can switch encryption off;
- no usable keyring: the user may allow unencrypted storage for this start (`--allow-unencrypted`,
  `AgentOptions.allow_unencrypted`). The consent is given at each start and stored nowhere, so no
  file edit can grant it. Without it the profile still opens and everything stored reads, but
  every write of customer data is refused (`ClearStorageRefusedError`): nothing reaches the disk
  in clear. Encrypted data needs its key, so without the keyring such a profile does not open.

`EncryptionState` says which of these holds, for `status` and for the window (through the facade).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any

from agent.security.errors import ClearStorageRefusedError
from agent.security.sealing import SealingCodec

DAY = 86_400.0


class Protection(enum.StrEnum):
    ENCRYPTED = "encrypted"
    OFF = "off"  # the user turned encryption off (recorded in the keyring)
    CLEAR_NO_KEYRING = "clear_no_keyring"  # no keyring; unencrypted, as the user allowed
    NO_KEYRING = "no_keyring"  # no keyring and no consent: customer data is not written
    DEMO = "demo"  # public sample data, never encrypted


def decide(
    *, demo: bool, keyring: bool, chosen: bool | None, allow_unencrypted: bool
) -> Protection:
    """The protection of a profile: `keyring` whether a usable one is installed, `chosen` the
    choice recorded in it (None: none made)."""
    if demo:
        return Protection.DEMO
    if keyring:
        return Protection.OFF if chosen is False else Protection.ENCRYPTED
    return Protection.CLEAR_NO_KEYRING if allow_unencrypted else Protection.NO_KEYRING


@dataclass(frozen=True)
class EncryptionState:
    """How the profile's data is kept, and when its data key was made (when encrypted)."""

    protection: Protection
    key_created_at: float | None = None

    @property
    def encrypted(self) -> bool:
        return self.protection is Protection.ENCRYPTED

    def key_age_days(self, now: float | None = None) -> int | None:
        if self.key_created_at is None:
            return None
        return max(0, int(((time.time() if now is None else now) - self.key_created_at) // DAY))

    def describe(self, now: float | None = None) -> str:
        """One sentence for people."""
        p = self.protection
        if p is Protection.ENCRYPTED:
            age = self.key_age_days(now)
            if age is None or self.key_created_at is None:
                return "Local data is encrypted; its data key is kept in the system keyring."
            made = time.strftime("%Y-%m-%d", time.gmtime(self.key_created_at))
            return (
                "Local data is encrypted; its data key, kept in the system keyring, was made on "
                f"{made} ({age} day{'' if age == 1 else 's'} ago)."
            )
        if p is Protection.OFF:
            return (
                "Local data is NOT encrypted: you turned encryption off "
                "(autotask-agent keys encrypt turns it on again)."
            )
        if p is Protection.CLEAR_NO_KEYRING:
            return (
                "Local data is not encrypted: no system keyring is available, and you allowed "
                "unencrypted storage (--allow-unencrypted)."
            )
        if p is Protection.NO_KEYRING:
            return (
                "No system keyring is available, so local data cannot be encrypted and new "
                "tickets and changes are not saved. Install or unlock a keyring, or start with "
                "--allow-unencrypted to keep them unencrypted on this computer."
            )
        return "The demo profile holds public sample data and is not encrypted."


class KeylessCodec(SealingCodec):
    """The codec of a profile without a keyring whose user has not allowed clear storage: the
    plain values already stored open; writing any value is refused."""

    def __init__(self) -> None:
        super().__init__()

    def encode(self, value: Any, *args: Any, **kwargs: Any) -> bytes:
        raise ClearStorageRefusedError()
