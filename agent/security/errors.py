"""Typed failures of data protection, each saying what happened and what to do; none holds a key.

SecurityError
├── DataKeyError (StoreError)    the key that opens the local data is not usable
│   ├── DataKeyMissingError      the database is encrypted but the keyring has no key for it
│   ├── WrongDataKeyError        the keyring's key does not open this database
│   └── DataKeyUnavailableError  the keyring cannot be reached to read or keep the key
├── ClearStorageRefusedError (StoreError) no keyring, and no consent to write customer data in clear
├── SealedPayloadError (StoreError) one stored value cannot be opened (changed, moved, unknown form)
├── InsecureUrlError             a URL that would send data without TLS (also a ValueError)
└── WipeNotConfirmedError        a wipe was asked for without the explicit confirmation
"""

from __future__ import annotations

from pathlib import Path

from agent.store.errors import StoreError


class SecurityError(Exception):
    """Base of every data protection failure."""


class DataKeyError(SecurityError, StoreError):
    """The data key cannot be used; nothing in the database was changed. A `StoreError` too:
    the profile's store cannot be opened, and every caller already reports those."""


class DataKeyMissingError(DataKeyError):
    def __init__(self, profile: str, database: Path) -> None:
        super().__init__(
            f"The local data of profile '{profile}' ({database}) is encrypted, but the system "
            "keyring no longer holds its key (entry 'data_key'). Nothing was changed or deleted. "
            "Restore the keyring (or your login keychain) from a backup and start again; or, to "
            "start afresh, sign out with 'wipe local data' (changes not yet synced are lost)."
        )
        self.profile = profile
        self.database = database


class WrongDataKeyError(DataKeyError):
    def __init__(self, profile: str, database: Path) -> None:
        super().__init__(
            f"The key in the system keyring for profile '{profile}' does not open its local "
            f"data ({database}); the database was written with another key (another user "
            "account or a restored keyring?). Nothing was changed or deleted. Start Field Sync "
            "as the user who created this data, or restore that keyring; or sign out with "
            "'wipe local data' to start afresh (changes not yet synced are lost)."
        )
        self.profile = profile
        self.database = database


class DataKeyUnavailableError(DataKeyError):
    def __init__(self, profile: str, reason: str) -> None:
        super().__init__(
            f"The local data of profile '{profile}' is encrypted with a key kept in the system "
            f"keyring, and the keyring cannot be used: {reason}"
        )
        self.profile = profile


class ClearStorageRefusedError(SecurityError, StoreError):
    """A write of customer data on a profile without a keyring, whose user has not allowed
    unencrypted storage; the transaction it was part of is rolled back."""

    def __init__(self) -> None:
        super().__init__(
            "Nothing was saved: no system keyring is available to hold the key that encrypts "
            "this profile's data, and Field Sync does not store your tickets and changes "
            "unencrypted unless you allow it. Install or unlock a keyring (Windows Credential "
            "Manager, macOS Keychain, or on Linux GNOME Keyring / KWallet), or start with "
            "--allow-unencrypted to keep this profile's data unencrypted on this computer."
        )


class SealedPayloadError(SecurityError, StoreError):
    """A stored value failed to open: changed on disk, copied from another column or row
    kind, or written in a newer format."""


class InsecureUrlError(SecurityError, ValueError):
    """A URL that is not https (loopback excepted)."""


class DirectoryNotChosenError(SecurityError):
    """The directory address in the database is not the one recorded as the user's choice (the
    database edited behind the program's back, or a profile from before the choice was kept)."""

    def __init__(self, stored: str | None) -> None:
        where = f"({stored})" if stored else "(Autotask's own)"
        super().__init__(
            f"The Autotask directory address stored in this profile {where} is not one you "
            "chose on this computer, so your credentials are not sent to the zone it names. If it "
            "is right, choose it again: `autotask-agent settings set api_directory_url <address>`."
        )


class WipeNotConfirmedError(SecurityError):
    def __init__(self) -> None:
        super().__init__(
            "Wiping local data deletes changes that are not yet synced; it needs an explicit "
            "confirmation (confirmed=True) and was not done."
        )
