"""Putting the administrator's policy into effect when a profile opens.

- Settings the policy sets are locked (`agent.settings.Locked`): they win over what this
  computer keeps, and neither the window nor `settings set` can change them.
- The sign-in parts it gives (API user, secret, integration code) are moved into the profile's
  keyring entries, where every sign-in is kept, and not held anywhere else; a sign-in after a
  sign-out reads the policy again to put them back (`restore_sign_in`).
- Its directory and Redis address are also written to this computer's settings, because what
  goes with them is anchored in the keyring (the directory the credentials may follow, the
  Redis password): the two stay consistent should the policy later be withdrawn.
- `encryption_required`: data kept in clear by an earlier choice is encrypted at this open, and
  neither `keys decrypt` nor `--allow-unencrypted` can keep it in clear.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agent.config.policy import CREDENTIAL_KEYS, Policy, PolicySecrets
from agent.config.redis_url import split_password, with_password
from agent.config.sources import PolicySources, load
from agent.credentials import REDIS_PASSWORD, CredentialError, CredentialStore
from agent.security.errors import SecurityError
from agent.settings import Locked, SettingsError, SettingsRepository
from agent.store.errors import StoreError

if TYPE_CHECKING:
    from agent.profile import Profile
    from agent.security.keys import DataKeyVault

log = logging.getLogger(__name__)


class EncryptionRequiredError(SecurityError, StoreError):
    """The policy requires encryption at rest, and this start would keep data in clear."""

    def __init__(self, origin: str) -> None:
        super().__init__(
            f"Your administrator's policy ({origin}) requires local data to be encrypted, so "
            "--allow-unencrypted cannot be used. Encryption keeps its key in the system "
            "keyring: install or unlock one (Windows Credential Manager, macOS Keychain, or "
            "Secret Service on Linux) and start again. Nothing was changed."
        )


def locks(policy: Policy) -> dict[str, Locked]:
    return {name: Locked(value, origin) for name, (value, origin) in policy.locked_settings.items()}


def check_encryption(policy: Policy, *, keyring: bool, allow_unencrypted: bool) -> None:
    """Refuse a start that would keep data in clear against the policy."""
    if policy.encryption_required and not keyring and allow_unencrypted:
        raise EncryptionRequiredError(policy.origin("encryption_required"))


def required_choice(policy: Policy, vault: DataKeyVault, chosen: bool | None) -> bool | None:
    """The encryption choice to open with: a recorded "off" becomes "on" under the policy (the
    data is then encrypted as the profile opens)."""
    if policy.encryption_required and chosen is False:
        vault.record_encryption(True)
        log.warning(
            "profile %s: local data is encrypted again, as the administrator's policy (%s) "
            "requires",
            vault.profile,
            policy.origin("encryption_required"),
        )
        return True
    return chosen


def refuse_decryption(policy: Policy) -> None:
    if policy.encryption_required:
        raise SecurityError(
            f"Your administrator's policy ({policy.origin('encryption_required')}) requires "
            "local data to be encrypted; it cannot be switched off on this computer. Nothing "
            "was changed."
        )


def store_sign_in(
    policy: Policy, secrets: PolicySecrets, credentials: CredentialStore
) -> list[str]:
    """Write the policy's sign-in parts into the keyring (only those that differ: a rotated
    secret replaces the old one); returns the entries written."""
    given = {
        "api_user": policy.api_user,
        "api_secret": secrets.api_secret,
        "integration_code": secrets.integration_code,
    }
    written = []
    for key, entry in CREDENTIAL_KEYS.items():
        value = given[key]
        if value and credentials.load_entry(entry) != value:
            credentials.save_entry(entry, value, secret=key != "api_user")
            written.append(entry)
    return written


def _apply_directory(policy: Policy, repo: SettingsRepository, vault: DataKeyVault) -> None:
    url = policy.values.get("directory")
    if not isinstance(url, str):
        return
    if repo.stored().api_directory_url != url:
        repo.save(api_directory_url=url)
    try:
        if vault.chosen_directory() != url:
            vault.record_directory(url)  # the administrator's choice counts as the user's
    except SecurityError as exc:  # no keyring: no credentials there to protect either
        log.info("the policy's directory is not recorded in a keyring: %s", exc)


def _apply_redis(
    policy: Policy, secrets: PolicySecrets, repo: SettingsRepository, credentials: CredentialStore
) -> None:
    url = policy.values.get("redis_url")
    stored = repo.stored().redis_url
    if not isinstance(url, str):
        # A password an earlier version kept in the settings table moves into the keyring. Once
        # this version has recorded a choice, a password in the table was put there by an edit
        # of the file: it is not taken (the address it comes with is not the one chosen).
        if (
            stored
            and split_password(stored).password is not None
            and not repo.redis_choice_recorded()
        ):
            try:
                repo.save(redis_url=stored)
                log.info("the Redis password moved from the settings table into the keyring")
            except SettingsError as exc:
                log.warning("the Redis password stays in the settings table: %s", exc)
        return
    try:
        kept = credentials.load_entry(REDIS_PASSWORD)
    except CredentialError:
        kept = None
    if (
        stored == url
        and (kept or "") == (secrets.redis_password or "")
        and repo.redis_choice_recorded()
    ):
        return
    try:
        repo.save(redis_url=with_password(url, secrets.redis_password))
    except SettingsError as exc:  # a password, and no keyring to keep it in
        log.warning("the policy's Redis address is not kept: %s", exc)


def apply_at_open(
    policy: Policy,
    secrets: PolicySecrets,
    repo: SettingsRepository,
    credentials: CredentialStore,
    vault: DataKeyVault,
) -> None:
    """Everything the policy asks of an opening profile but encryption (`required_choice`)."""
    if policy.empty:
        _apply_redis(policy, secrets, repo, credentials)
        return
    try:
        written = store_sign_in(policy, secrets, credentials)
        if written:
            log.info("the policy's sign-in (%s) is kept in the keyring", ", ".join(written))
    except CredentialError as exc:
        log.warning("the policy's sign-in cannot be kept: %s", exc)
    _apply_directory(policy, repo, vault)
    _apply_redis(policy, secrets, repo, credentials)
    log.info(
        "administrator's policy in effect: %s",
        ", ".join(f"{k} ({policy.origin(k)})" for k in policy.values),
    )


def restore_sign_in(profile: Profile) -> None:
    """Read the policy again and put its sign-in parts back in the keyring (a sign-out removed
    them); the secrets are let go once written."""
    if not profile.policy.credential_entries:
        return
    policy, secrets = load(profile.policy_sources)
    store_sign_in(policy, secrets, profile.credentials)


def complete_sign_in(
    profile: Profile, username: str, secret: str, integration_code: str
) -> tuple[str, str, str]:
    """The sign-in to check: what the technician typed, the policy's parts taking the place of
    those it gives (`CredentialError` when the keyring cannot give them)."""
    managed = profile.policy.credential_entries
    if not managed:
        return username, secret, integration_code
    restore_sign_in(profile)
    typed = {"username": username, "secret": secret, "integration_code": integration_code}
    for entry in managed:
        typed[entry] = profile.credentials.load_entry(entry) or ""
    return typed["username"], typed["secret"], typed["integration_code"]


__all__ = [
    "EncryptionRequiredError",
    "PolicySources",
    "apply_at_open",
    "check_encryption",
    "complete_sign_in",
    "locks",
    "refuse_decryption",
    "required_choice",
    "restore_sign_in",
]
