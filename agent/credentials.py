"""The API credentials of a profile, kept only in the operating system's keyring.

There is no plaintext fallback: without a usable keyring the agent says so and stops asking.
`ApiSecretBundle.__repr__` and every error message leave the secret and integration code out.

A profile's entries live under the service `field-sync-autotask/id/<keyring id>`, the id being a
random one its database keeps (`agent.security.identity`), so two data folders with the same
profile name never share entries. `legacy_service` names where earlier versions kept them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keyring
import keyring.errors
from jaraco.classes import properties
from keyring.backend import KeyringBackend

from agent.logs import register_secret

SERVICE_PREFIX = "field-sync-autotask"
# The API user's sign-in: all three or none make a profile signed in.
API_ENTRIES = ("username", "secret", "integration_code")
# The password of the fleet's Redis server (`agent.config.redis_url`): the settings table keeps
# the address without it. Signing out leaves it: it belongs to the computer, not the technician.
REDIS_PASSWORD = "redis_password"
# The Redis address the user (or the policy) chose, without its password ("" for none): the
# settings table's copy alone cannot send the password, or the fleet's counters, elsewhere.
REDIS_ADDRESS = "redis_address"
# Every entry a profile keeps beside its keys for its sign-in and its fleet (what a copy of a data
# folder takes along).
CREDENTIAL_ENTRIES = (*API_ENTRIES, REDIS_PASSWORD, REDIS_ADDRESS)
_ENTRIES = API_ENTRIES


def keyring_service(keyring_id: str) -> str:
    """The service holding the entries of the database whose keyring id is `keyring_id`."""
    return f"{SERVICE_PREFIX}/id/{keyring_id}"


def legacy_service(profile: str) -> str:
    """Where versions before keyring ids kept a profile's entries (shared by every data folder
    with that profile name). Profile names hold no '/', so it never equals an id's service."""
    return f"{SERVICE_PREFIX}/{profile}"


class CredentialError(Exception):
    """Base of credential storage failures."""


class NoKeyringError(CredentialError):
    def __init__(self) -> None:
        super().__init__(
            "No system keyring is available to keep your Autotask credentials safely. "
            "Install or unlock one (Windows Credential Manager, macOS Keychain, or on Linux "
            "GNOME Keyring / KWallet through Secret Service) and try again. A keyring that "
            "keeps secrets in a plain file, or a chain of keyrings that includes one, does "
            "not count."
        )


class KeyringLockedError(CredentialError):
    def __init__(self) -> None:
        super().__init__(
            "The system keyring is locked or refused access. Unlock it (you may be asked for your "
            "login password) and try again."
        )


class CredentialsMissingError(CredentialError):
    def __init__(self, profile: str) -> None:
        super().__init__(f"No Autotask credentials are saved for profile '{profile}'. Sign in.")


@dataclass(frozen=True)
class ApiSecretBundle:
    """User name, secret and integration code; the last two never appear in a repr."""

    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)

    def __repr__(self) -> str:
        return f"ApiSecretBundle(username={self.username!r}, secret=***, integration_code=***)"

    __str__ = __repr__


class CredentialStore:
    """Reads and writes one profile's credentials in the keyring, under `service` (the profile's
    own, from `keyring_service`; `legacy_service(profile)` when not given)."""

    def __init__(
        self, profile: str, backend: KeyringBackend | None = None, *, service: str | None = None
    ) -> None:
        self.service = service or legacy_service(profile)
        self.profile = profile
        self._backend = backend

    def _keyring(self) -> KeyringBackend:
        backend = self._backend or keyring.get_keyring()
        if not is_safe_backend(backend):
            raise NoKeyringError()
        return backend

    def _call(self, fn: str, *args: str) -> str | None:
        backend = self._keyring()
        try:
            result: str | None = getattr(backend, fn)(*args)
        except keyring.errors.NoKeyringError:
            raise NoKeyringError() from None
        except keyring.errors.KeyringLocked:
            raise KeyringLockedError() from None
        except keyring.errors.InitError:
            raise NoKeyringError() from None
        except keyring.errors.PasswordDeleteError:
            return None
        except keyring.errors.KeyringError:
            # The backend's own message may quote what it was given; say nothing of it.
            raise KeyringLockedError() from None
        return result

    def save(self, bundle: ApiSecretBundle) -> None:
        register_secret(bundle.secret)
        register_secret(bundle.integration_code)
        for entry in _ENTRIES:
            self._call("set_password", self.service, entry, getattr(bundle, entry))

    def load(self) -> ApiSecretBundle:
        values = {entry: self._call("get_password", self.service, entry) for entry in _ENTRIES}
        if not all(values.values()):
            raise CredentialsMissingError(self.profile)
        bundle = ApiSecretBundle(**{k: str(v) for k, v in values.items()})
        register_secret(bundle.secret)
        register_secret(bundle.integration_code)
        return bundle

    def has_credentials(self) -> bool:
        try:
            self.load()
        except CredentialsMissingError:
            return False
        return True

    def clear(self) -> None:
        for entry in _ENTRIES:
            self._call("delete_password", self.service, entry)

    # -- single entries (a policy's parts of the sign-in, the Redis password) -------------------
    def load_entry(self, entry: str) -> str | None:
        return self._call("get_password", self.service, entry)

    def save_entry(self, entry: str, value: str, *, secret: bool = True) -> None:
        if secret:
            register_secret(value)
        self._call("set_password", self.service, entry, value)

    def delete_entry(self, entry: str) -> None:
        self._call("delete_password", self.service, entry)


# Backends that do not keep a secret safely: refused rather than used as a silent fallback.
_REFUSED = ("keyring.backends.fail.", "keyring.backends.null.")


def is_safe_backend(backend: KeyringBackend) -> bool:
    """Whether `backend` keeps secrets safely. A chain writes to its first member that takes a
    value and reads from whichever answers first, so it is safe only if every member is (and an
    empty chain keeps nothing); a wrapper (keyrings.alt's multipart one) is as safe as what it
    wraps. Any backend named `Plaintext...` (keyrings.alt has one per storage: a file, a
    PyFilesystem folder) writes the secret as it is."""
    cls = type(backend)
    if f"{cls.__module__}.{cls.__name__}".startswith(_REFUSED):
        return False
    if cls.__name__.lower().startswith("plaintext"):
        return False
    chained = getattr(backend, "backends", None)
    if chained is not None:
        members = list(chained)
        return bool(members) and all(is_safe_backend(b) for b in members)
    wrapped = getattr(backend, "_keyring", None)
    if isinstance(wrapped, KeyringBackend):
        return is_safe_backend(wrapped)
    return True


class InProcessKeyring(KeyringBackend):
    """A keyring that lives in this process only: for the demo tenant's public demo credentials
    and for tests. Never selected automatically: it is only ever installed explicitly."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("the in-process keyring is installed explicitly, never chosen")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._values.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)
