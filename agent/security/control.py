"""The user's explicit actions on an open profile's encryption: switching it on or off (off only
with consent to keep the data in clear), rotating the data key, and forgetting the keyring
entries an earlier version named after the profile. Each refuses with a message saying why when
it cannot apply (the demo profile, no keyring, encryption off)."""

from __future__ import annotations

import logging

from agent.credentials import NoKeyringError
from agent.profile import Profile
from agent.security import identity
from agent.security.encryption import Protection
from agent.security.errors import SecurityError

log = logging.getLogger(__name__)


def _require_keyring(profile: Profile) -> None:
    if profile.protection is Protection.DEMO:
        raise SecurityError(
            "The demo profile holds public sample data and is never encrypted; it has no key."
        )
    if profile.protection in (Protection.NO_KEYRING, Protection.CLEAR_NO_KEYRING):
        raise SecurityError(
            f"{NoKeyringError()} Encryption at rest keeps its key there, so without one it "
            "cannot be switched and there is no key to rotate."
        )


def set_encryption(profile: Profile, on: bool, *, store_in_clear: bool = False) -> int:
    """Encrypt (or, given `store_in_clear`, decrypt) every stored value in place and record the
    choice in the keyring; returns the values rewritten (0 when it was so already)."""
    _require_keyring(profile)
    if not on:
        from agent.config.managed import refuse_decryption

        refuse_decryption(profile.policy)
    if not on and not store_in_clear:
        raise SecurityError(
            "Turning encryption off stores your tickets and changes unencrypted on this "
            "computer; it needs explicit consent (store_in_clear=True; on the command line "
            "'autotask-agent keys decrypt --yes-store-in-clear'). Nothing was changed."
        )
    at_rest = profile.at_rest
    changed = 0
    if at_rest.enabled != on:
        changed = at_rest.set_enabled(on)
        log.warning(
            "profile %s: encryption at rest turned %s by the user (%d values rewritten)",
            profile.paths.profile,
            "on" if on else "off",
            changed,
        )
    profile.protection = Protection.ENCRYPTED if on else Protection.OFF
    profile.vault.created()  # read here, off the caller's loop, for `Profile.encryption`
    return changed


def rotate_key(profile: Profile) -> int:
    """Re-encrypt every stored value under a new data key; returns the values rewritten."""
    _require_keyring(profile)
    if not profile.at_rest.enabled:
        raise SecurityError(
            "Encryption at rest is off for this profile, so there is no key to rotate; turn "
            "encryption on first ('autotask-agent keys encrypt')."
        )
    return profile.at_rest.rotate()


def forget_legacy_entries(profile: Profile) -> list[str]:
    """Delete the keyring entries an earlier version kept under the profile's name (this
    folder has its own by now); returns those deleted. Other data folders of this profile name
    not opened since the update lose the only key that opens their data: the caller asks."""
    _require_keyring(profile)
    removed = identity.forget_legacy(profile.paths.profile)
    if removed:
        log.warning("profile %s: legacy keyring entries %s deleted", profile.paths.profile, removed)
    return removed
