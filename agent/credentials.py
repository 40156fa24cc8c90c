"""The API credentials of a profile, kept only in the operating system's keyring.

There is no plaintext fallback: without a usable keyring the agent says so and stops asking.
`ApiSecretBundle.__repr__` and every error message leave the secret and integration code out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keyring
import keyring.errors
from jaraco.classes import properties
from keyring.backend import KeyringBackend

from agent.logs import register_secret

SERVICE_PREFIX = "field-sync-autotask"
_ENTRIES = ("username", "secret", "integration_code")


class CredentialError(Exception):
    """Base of credential storage failures."""


class NoKeyringError(CredentialError):
    def __init__(self) -> None:
        super().__init__(
            "No system keyring is available to keep your Autotask credentials safely. "
            "Install or unlock one (Windows Credential Manager, macOS Keychain, or on Linux "
            "GNOME Keyring / KWallet through Secret Service) and try again."
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
    """Reads and writes one profile's credentials in the keyring."""

    def __init__(self, profile: str, backend: KeyringBackend | None = None) -> None:
        self.service = f"{SERVICE_PREFIX}/{profile}"
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


# Backends that do not keep a secret safely: refused rather than used as a silent fallback.
_REFUSED = ("keyring.backends.fail.", "keyring.backends.null.", "keyrings.alt.file.Plaintext")


def is_safe_backend(backend: KeyringBackend) -> bool:
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if name.startswith(_REFUSED):
        return False
    chained = getattr(backend, "backends", None)
    if chained is not None:
        return any(is_safe_backend(b) for b in chained)
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
