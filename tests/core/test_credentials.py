"""Credentials live only in the keyring, never leak through reprs, and fail with typed errors."""

from __future__ import annotations

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from agent.credentials import (
    ApiSecretBundle,
    CredentialsMissingError,
    CredentialStore,
    KeyringLockedError,
    NoKeyringError,
)

SECRET = "s3cr3t-Value-9f8e7d"
CODE = "INTCODE-ABCDEF123456"


def bundle() -> ApiSecretBundle:
    return ApiSecretBundle("tech@example.com", SECRET, CODE)


def test_credentials_round_trip_through_the_keyring() -> None:
    store = CredentialStore("default")
    store.save(bundle())
    assert store.load() == bundle()
    assert keyring.get_password("field-sync-autotask/default", "secret") == SECRET
    store.clear()
    assert not store.has_credentials()


def test_missing_credentials_ask_for_sign_in() -> None:
    with pytest.raises(CredentialsMissingError, match="Sign in"):
        CredentialStore("nobody").load()


def test_repr_and_str_never_show_the_secret_or_integration_code() -> None:
    for text in (repr(bundle()), str(bundle()), f"{bundle()}", repr([bundle()])):
        assert SECRET not in text and CODE not in text
        assert "tech@example.com" in text


def test_no_keyring_backend_is_a_typed_error_not_a_plaintext_fallback() -> None:
    with pytest.raises(NoKeyringError, match="No system keyring"):
        CredentialStore("p", backend=fail.Keyring()).save(bundle())


class PlaintextKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("must never be used")

    def delete_password(self, service: str, username: str) -> None:
        pass


PlaintextKeyring.__module__ = "keyrings.alt.file"


def test_a_plaintext_file_keyring_is_refused() -> None:
    with pytest.raises(NoKeyringError):
        CredentialStore("p", backend=PlaintextKeyring()).save(bundle())


class LockedKeyring(PlaintextKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked(f"locked while storing {password}")

    get_password = set_password  # type: ignore[assignment]


LockedKeyring.__module__ = "keyring.backends.SecretService"


def test_a_locked_keyring_is_a_typed_error_whose_message_holds_no_secret() -> None:
    with pytest.raises(KeyringLockedError) as err:
        CredentialStore("p", backend=LockedKeyring()).save(bundle())
    assert SECRET not in str(err.value) and err.value.__cause__ is None


class ChainedKeyring(KeyringBackend):
    """A chainer as keyring builds one: writes go to the first member."""

    priority = 10

    def __init__(self, *members: KeyringBackend) -> None:
        super().__init__()
        self.backends = list(members)

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.backends[0].set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        pass


ChainedKeyring.__module__ = "keyring.backends.chainer"


def test_a_chain_counts_as_safe_only_if_every_member_is_safe() -> None:
    from agent.credentials import InProcessKeyring, is_safe_backend

    safe = InProcessKeyring()
    assert is_safe_backend(ChainedKeyring(safe, InProcessKeyring()))
    for chain in (
        ChainedKeyring(PlaintextKeyring(), safe),
        ChainedKeyring(safe, PlaintextKeyring()),
        ChainedKeyring(fail.Keyring(), safe),
        ChainedKeyring(),
    ):
        assert not is_safe_backend(chain)
    with pytest.raises(NoKeyringError):
        CredentialStore("p", backend=ChainedKeyring(PlaintextKeyring(), safe)).save(bundle())


class FolderPlaintextKeyring(PlaintextKeyring):
    """keyrings.alt's plain-text keyring on a PyFilesystem folder (another module, same risk)."""


FolderPlaintextKeyring.__name__ = "PlaintextKeyring"
FolderPlaintextKeyring.__module__ = "keyrings.alt.pyfs"


class MultipartWrapper(KeyringBackend):
    """keyrings.alt's wrapper that splits long secrets and stores the parts in `_keyring`."""

    priority = 1

    def __init__(self, inner: KeyringBackend) -> None:
        super().__init__()
        self._keyring = inner

    def get_password(self, service: str, username: str) -> str | None:
        return self._keyring.get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._keyring.set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._keyring.delete_password(service, username)


MultipartWrapper.__module__ = "keyrings.alt.multi"


def test_every_plain_text_keyring_and_a_wrapper_around_one_are_refused() -> None:
    from agent.credentials import InProcessKeyring, is_safe_backend

    safe = InProcessKeyring()
    assert is_safe_backend(MultipartWrapper(safe))
    for backend in (
        FolderPlaintextKeyring(),
        MultipartWrapper(PlaintextKeyring()),
        MultipartWrapper(fail.Keyring()),
        ChainedKeyring(safe, MultipartWrapper(FolderPlaintextKeyring())),
    ):
        assert not is_safe_backend(backend), backend
        with pytest.raises(NoKeyringError):
            CredentialStore("p", backend=backend).save(bundle())
