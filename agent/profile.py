"""Opening one profile: its folders, log file, database, settings and credential store together.

Its keyring entries are named by the keyring id its database keeps (`agent.security.identity`);
whether its data is encrypted is decided from the keyring (`agent.security.encryption`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import keyring

from agent import logs
from agent.config import managed
from agent.config.policy import Policy, PolicySecrets
from agent.config.sources import PolicySources, load
from agent.credentials import CredentialStore, NoKeyringError, is_safe_backend
from agent.paths import AgentPaths, InvalidProfileName, folder_error, resolve
from agent.security import fingerprints, identity
from agent.security.at_rest import AtRest, open_at_rest, scan
from agent.security.audit_anchor import AuditChain, load_audit_key, try_open_audit_chain
from agent.security.encryption import EncryptionState, KeylessCodec, Protection, decide
from agent.security.errors import DataKeyUnavailableError, SecurityError
from agent.security.fingerprints import open_fingerprints
from agent.security.keys import DATA_KEY, NEXT_DATA_KEY, DataKeyVault
from agent.security.permissions import create_private_file, private_profile
from agent.settings import Settings, SettingsRepository
from agent.store.connection import Durability, RecoveryNotice, Store
from agent.store.probe import prepare_folder

log = logging.getLogger(__name__)
# The profile of the built-in demo tenant (`--demo`, `Agent.open_demo`). Its data is public sample
# data, and the demo must start on machines without a keyring, so it is never encrypted at rest.
# Being the demo is said by the caller that starts the demo tenant, never by a name: the name is
# reserved for it (in any case: "Demo" is the same folder on a case-insensitive disk), so no
# profile signed in to a real tenant can be a demo.
DEMO_PROFILE = "demo"


# Protections under which the outbox's fingerprints are keyed (a usable keyring, not the demo).
KEYED = (Protection.ENCRYPTED, Protection.OFF)


class ReservedProfileName(InvalidProfileName):
    """The profile name "demo" outside the built-in demo tenant."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The profile name {name!r} is kept for the built-in demo tenant: start it with "
            "--demo, or choose another profile name for your Autotask account."
        )


def check_demo_name(name: str, *, demo: bool) -> None:
    """Refuse the demo's name for any other profile, and the demo's exemptions for any other
    name (`demo` with another name is a caller's mistake, not a user's)."""
    if demo and name != DEMO_PROFILE:
        raise ValueError(f"the demo tenant's profile is {DEMO_PROFILE!r}, not {name!r}")
    if not demo and name.casefold() == DEMO_PROFILE:
        raise ReservedProfileName(name)


@dataclass
class Profile:
    paths: AgentPaths
    store: Store
    settings_repo: SettingsRepository
    credentials: CredentialStore
    vault: DataKeyVault
    at_rest: AtRest
    protection: Protection
    audit_chain: AuditChain | None = None  # None: the trail is not keyed (no keyring; the demo)
    policy: Policy = field(default_factory=Policy)  # the administrator's (none for the demo)
    policy_sources: PolicySources | None = None  # where it was read (None: this computer's)

    @property
    def settings(self) -> Settings:
        return self.settings_repo.load()

    def audit_retention_days(self) -> int:
        """How long audit events are kept: the administrator's policy, else the period anchored
        beside the audit key (set through the program), never the table alone; the setting
        where the trail is not keyed (no keyring)."""
        locked = self.settings_repo.locked.get("audit_retention_days")
        if locked is not None:
            return int(locked.value)
        stored = self.settings.audit_retention_days
        if self.audit_chain is None:
            return stored
        try:
            anchored = self.audit_chain.retention()
        except SecurityError:  # the keyring cannot say now: never shorter than the default
            return max(stored, Settings().audit_retention_days)
        return stored if anchored is None else anchored.days

    @property
    def recovery(self) -> RecoveryNotice | None:
        return self.store.recovery

    @property
    def encryption(self) -> EncryptionState:
        """How the data is kept now (no keyring call: the key's age was read at open or when
        the key was last made)."""
        if self.protection in (Protection.ENCRYPTED, Protection.OFF):
            if not self.at_rest.enabled:
                return EncryptionState(Protection.OFF)
            return EncryptionState(Protection.ENCRYPTED, self.vault.created(DATA_KEY))
        return EncryptionState(self.protection)

    def close(self) -> None:
        if self.audit_chain is not None:  # anchors what was committed, so before the store
            self.audit_chain.close()
        self.store.close()
        self.at_rest.close()
        fingerprints.close()


def keyring_available() -> bool:
    """Whether a keyring that keeps secrets safely is installed (never a plaintext file)."""
    try:
        return is_safe_backend(keyring.get_keyring())
    except Exception:  # a broken backend module counts as none
        return False


def _data_keys(name: str, settings: Mapping[str, str]) -> list[bytes | None]:
    """The data keys of a database being salvaged, from the keyring (to check the sealed values
    it copies): under the id its settings record, or an earlier version's legacy ones."""
    if not keyring_available():
        return []
    found = identity.recorded_keyring_id(settings)
    if found is None:
        return identity.legacy_keys(name)
    vault = DataKeyVault(name, found)
    return [vault.load(DATA_KEY), vault.load(NEXT_DATA_KEY)]


def _open_at_rest(store: Store, vault: DataKeyVault, protection: Protection) -> AtRest:
    if protection is Protection.NO_KEYRING:
        if scan(store).sealed_rows:  # encrypted data needs its key, which only a keyring holds
            raise DataKeyUnavailableError(vault.profile, str(NoKeyringError()))
        return AtRest(store, vault, KeylessCodec())
    enabled = protection is Protection.ENCRYPTED
    at_rest = open_at_rest(store, vault, enabled=enabled)
    if enabled and vault.created(DATA_KEY) is None:
        # A key from an earlier version, which every data folder of this profile name shared:
        # re-encrypt under a key of this folder's own (the next open tries again if this fails).
        try:
            changed = at_rest.rotate()
            log.info(
                "profile %s: data key replaced by one of its own (%d values)",
                vault.profile,
                changed,
            )
        except Exception:
            log.warning(
                "profile %s: the shared data key could not be replaced yet",
                vault.profile,
                exc_info=True,
            )
    return at_rest


def keys_audit_trail(*, demo: bool) -> bool:
    """Whether this profile's audit trail is keyed and anchored in the keyring (every profile
    with a safe keyring but the public demo's)."""
    return not demo and keyring_available()


def _audit_key(name: str, settings: Mapping[str, str]) -> bytes | None:
    """The audit key of a database being salvaged, under the keyring id its settings record
    (None when they record none: its trail was not keyed)."""
    found = identity.recorded_keyring_id(settings)
    return None if found is None else load_audit_key(DataKeyVault(name, found))


def _anchor_audit_retention(chain: AuditChain, repo: SettingsRepository, stored: Settings) -> None:
    """Keep the audit retention in force beside the audit key: the policy's, or, the first time,
    the period used until now. A keyring that cannot take it is logged; the start goes on."""
    locked = repo.locked.get("audit_retention_days")
    try:
        chain.retention_at_open(
            used=stored.audit_retention_days,
            policy=None if locked is None else int(locked.value),
        )
    except SecurityError as exc:
        log.warning("the audit retention could not be kept in the keyring: %s", exc)


def open_profile(
    data_dir: str | Path | None = None,
    name: str = "default",
    *,
    demo: bool = False,
    console_log: bool = False,
    busy_timeout_ms: int = 5000,
    allow_unencrypted: bool = False,
    policy_sources: PolicySources | None = None,
) -> Profile:
    """Open (creating if needed) the profile; raises a StoreError with a clear message if it
    cannot. A damaged database is replaced by its salvage (the damaged file kept aside,
    unchanged) and reported through `Profile.recovery`. `allow_unencrypted`: the user's consent,
    for this open, to keep the data in clear where no keyring is available. The administrator's
    policy (`agent.config`) is read from `policy_sources` (default: this computer's) before
    anything is written, and applies to every profile but the demo. `demo`: this is the built-in
    demo tenant's profile (only `--demo` starts it); the name "demo" is refused otherwise."""
    check_demo_name(name, demo=demo)
    # Read and checked first: a policy that cannot be used stops the start with nothing changed.
    policy, secrets = (Policy(), PolicySecrets()) if demo else load(policy_sources)
    usable = keyring_available()
    managed.check_encryption(policy, keyring=usable, allow_unencrypted=allow_unencrypted)
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
    keyed_trail = keys_audit_trail(demo=demo)
    store = Store(
        paths.database,
        busy_timeout_ms=busy_timeout_ms,
        salvage_keys=lambda settings: _data_keys(name, settings),
        salvage_audit_key=(lambda settings: _audit_key(name, settings)) if keyed_trail else None,
    )
    try:
        repo = SettingsRepository(store)
        settings = repo.load()
        store.set_durability(Durability(settings.durability))
        keyring_id = identity.establish(
            store,
            name,
            keyring=usable,
            adopt=not demo,
            sealed=lambda: scan(store).sealed_rows > 0,
        )
        vault = DataKeyVault(name, keyring_id)
        chosen = vault.encryption_chosen() if usable and not demo else None
        if usable and not demo:
            chosen = managed.required_choice(policy, vault, chosen)
        protection = decide(
            demo=demo,
            keyring=usable,
            chosen=chosen,
            allow_unencrypted=allow_unencrypted,
        )
        if protection in (Protection.NO_KEYRING, Protection.CLEAR_NO_KEYRING):
            log.warning("profile %s: %s", name, EncryptionState(protection).describe())
        at_rest = _open_at_rest(store, vault, protection)
        chain = None
        try:
            chain = try_open_audit_chain(store, vault) if keyed_trail else None
            if protection is not Protection.NO_KEYRING:  # which writes nothing new
                open_fingerprints(store, vault if protection in KEYED else None)
        except BaseException:
            if chain is not None:
                chain.close()
            fingerprints.close()
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
    credentials = CredentialStore(name, service=vault.service)
    repo = SettingsRepository(
        store,
        locked=managed.locks(policy),
        secrets=credentials,
        retention_anchor=None if chain is None else chain.anchor_retention,
    )
    try:
        if chain is not None:
            _anchor_audit_retention(chain, repo, settings)
        managed.apply_at_open(policy, secrets, repo, credentials, vault)
    except BaseException:
        if chain is not None:
            chain.close()
        store.close()
        at_rest.close()
        raise
    del secrets  # in the keyring now; nothing here holds them
    return Profile(
        paths, store, repo, credentials, vault, at_rest, protection, chain, policy, policy_sources
    )
