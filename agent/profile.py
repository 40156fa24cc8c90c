"""Opening one profile: its folders, log file, database, settings and credential store together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import keyring

from agent import logs
from agent.credentials import CredentialStore, is_safe_backend
from agent.paths import AgentPaths, folder_error, resolve
from agent.security.at_rest import AtRest, open_at_rest
from agent.security.audit_anchor import AuditChain, load_audit_key, try_open_audit_chain
from agent.security.keys import DATA_KEY, NEXT_DATA_KEY, DataKeyVault
from agent.security.permissions import create_private_file, private_profile
from agent.settings import Settings, SettingsRepository
from agent.store.connection import Durability, RecoveryNotice, Store
from agent.store.probe import prepare_folder

log = logging.getLogger(__name__)
# The demo tenant's data is public sample data, and the demo must start on machines without a
# keyring, so its profile is never encrypted at rest.
DEMO_PROFILE = "demo"


@dataclass
class Profile:
    paths: AgentPaths
    store: Store
    settings_repo: SettingsRepository
    credentials: CredentialStore
    at_rest: AtRest | None = None
    audit_chain: AuditChain | None = None  # None: the trail is not keyed (no keyring; the demo)

    @property
    def settings(self) -> Settings:
        return self.settings_repo.load()

    @property
    def recovery(self) -> RecoveryNotice | None:
        return self.store.recovery

    def close(self) -> None:
        if self.audit_chain is not None:  # anchors what was committed, so before the store
            self.audit_chain.close()
        self.store.close()
        if self.at_rest is not None:
            self.at_rest.close()


def encrypts_at_rest(name: str, settings: Settings) -> bool:
    """Whether this profile's payloads are sealed (never for the public demo data)."""
    return settings.encrypt_at_rest and name != DEMO_PROFILE and not settings.demo_mode


def keyring_available() -> bool:
    """Whether a keyring that keeps secrets safely is installed (never a plaintext file)."""
    try:
        return is_safe_backend(keyring.get_keyring())
    except Exception:  # a broken backend module counts as none
        return False


def _data_keys(name: str) -> list[bytes | None]:
    """The profile's data keys from the keyring (to check sealed values a salvage copies)."""
    if not keyring_available():
        return []
    vault = DataKeyVault(name)
    return [vault.load(DATA_KEY), vault.load(NEXT_DATA_KEY)]


def keys_audit_trail(name: str) -> bool:
    """Whether this profile's audit trail is keyed and anchored in the keyring (every profile
    with a safe keyring but the public demo)."""
    return name != DEMO_PROFILE and keyring_available()


def open_profile(
    data_dir: str | Path | None = None,
    name: str = "default",
    *,
    console_log: bool = False,
    busy_timeout_ms: int = 5000,
) -> Profile:
    """Open (creating if needed) the profile; raises a StoreError with a clear message if it
    cannot. A damaged database is replaced by its salvage (the damaged file kept aside,
    unchanged) and reported through `Profile.recovery`."""
    paths = resolve(data_dir, name).ensure()
    # The profile's folder first: when it cannot be written the start fails with that one line
    # (a log folder that cannot be written only costs the log file: logging goes to stderr).
    try:
        create_private_file(paths.database)  # SQLite gives -wal/-shm the database file's mode
    except OSError as exc:  # a read-only or full folder: said as such, before anything else
        raise folder_error(exc, paths.profile_dir) from None
    prepare_folder(paths.database)  # the same for the lock, -wal and -shm files beside it
    try:
        logs.configure(paths.log_file, console=console_log)
    except OSError as exc:
        raise folder_error(exc, paths.log_dir) from None
    keyed_trail = keys_audit_trail(name)
    store = Store(
        paths.database,
        busy_timeout_ms=busy_timeout_ms,
        salvage_keys=lambda: _data_keys(name),
        salvage_audit_key=(lambda: load_audit_key(DataKeyVault(name))) if keyed_trail else None,
    )
    try:
        repo = SettingsRepository(store)
        settings = repo.load()
        store.set_durability(Durability(settings.durability))
        wanted = encrypts_at_rest(name, settings)
        enabled = wanted and keyring_available()
        if wanted and not enabled:
            # No keyring to hold a data key: run unencrypted and say so (status and log). Data
            # already sealed still needs its key: open_at_rest refuses it with a clear error.
            log.warning(
                "profile %s: no system keyring is available, so local data is not "
                "encrypted at rest",
                name,
            )
        at_rest = open_at_rest(store, DataKeyVault(name), enabled=enabled)
        try:
            chain = try_open_audit_chain(store, DataKeyVault(name)) if keyed_trail else None
        except BaseException:
            at_rest.close()
            raise
    except BaseException:
        store.close()
        raise
    # A log folder that cannot be written (logging fell back to stderr) is left as it is.
    logging_to_file = logs.current_log_file() is not None
    folders = [paths.profile_dir.parent, paths.profile_dir, *([paths.log_dir] * logging_to_file)]
    private_profile(paths.database, folders)
    logging.getLogger().setLevel(settings.log_level)
    if store.recovery is not None:
        log.error("%s", store.recovery.message)
    log.info("profile %s opened at %s (schema %s)", name, paths.database, store.schema_version())
    return Profile(paths, store, repo, CredentialStore(name), at_rest, chain)
