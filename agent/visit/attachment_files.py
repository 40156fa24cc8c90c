"""The bytes of attached files in the profile folder, each sealed with a key of its own.

A file is written as `FSA1 | nonce (12) | AES-256-GCM(ciphertext + tag)`, the file's own name
(`blob`) in the associated data, so a file swapped for another one fails to open. Its key is
kept in the database (`AttachmentFile.sealed`), where the profile's codec seals it like every
payload: a rotation of the data key re-seals that key, never the file. Files are large (up to
6 MB), so they stay out of the database and out of the outbox's rows.

Writes are durable: a temporary file is written, flushed to disk and renamed over, and the
folder is synced; a full disk (or any refusal of the disk) raises the store's error for it and
leaves no partial file behind, so nothing else is touched.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.security.permissions import PRIVATE_DIR, PRIVATE_FILE, binary_flags
from agent.store.errors import translate_os

MAGIC = b"FSA1"
NONCE_BYTES = 12
FOLDER = "attachments"


class SealedFileError(Exception):
    """An attached file is missing, damaged or not the one its record names."""


def folder_of(profile_dir: Path) -> Path:
    return profile_dir / FOLDER


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder to flush it; its rename is durable
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seal(folder: Path, data: bytes) -> tuple[str, bytes]:
    """Write `data` sealed under a new name in `folder`; returns the name and its key."""
    blob = uuid.uuid4().hex
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    sealed = MAGIC + nonce + AESGCM(key).encrypt(nonce, data, MAGIC + blob.encode())
    target = folder / blob
    partial = folder / f".{blob}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        fd = os.open(partial, binary_flags(os.O_CREAT | os.O_EXCL | os.O_WRONLY), PRIVATE_FILE)
        try:
            view = memoryview(sealed)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
        _sync_folder(folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise translate_os(exc, target) from exc
    return blob, key


def open_sealed(folder: Path, blob: str, key: bytes) -> bytes:
    """The plain bytes of `blob`."""
    try:
        raw = (folder / blob).read_bytes()
    except FileNotFoundError:
        raise SealedFileError(f"the attached file {blob} is missing from {folder}") from None
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + NONCE_BYTES + 16:
        raise SealedFileError(f"the attached file {blob} is not a sealed attachment")
    nonce = raw[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, raw[len(MAGIC) + NONCE_BYTES :], MAGIC + blob.encode())
    except InvalidTag:
        raise SealedFileError(f"the attached file {blob} was changed on disk") from None


def remove(folder: Path, blob: str) -> None:
    """Delete a sealed file (gone already is fine)."""
    with contextlib.suppress(FileNotFoundError):
        (folder / blob).unlink()
