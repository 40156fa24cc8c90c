"""Reading a profile's keyring entries as the keyring holds them, and making a profile look as
one written before entries were named by a keyring id (ground truth, not the agent's view)."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import keyring

from agent.security.at_rest import PAYLOAD_COLUMNS
from agent.security.sealing import SealingCodec
from agent.store.codec import row_key

PREFIX = "field-sync-autotask"
CREDENTIALS = ("username", "secret", "integration_code")
KEYS = ("data_key", "data_key_next")


def database(data_dir: Path, name: str = "default") -> Path:
    return data_dir / "profiles" / name / "agent.sqlite3"


def keyring_id(data_dir: Path, name: str = "default") -> str | None:
    """The keyring id recorded in the profile's database file, read with a plain connection."""
    conn = sqlite3.connect(f"file:{database(data_dir, name)}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM setting WHERE key = 'keyring_id'").fetchone()
    finally:
        conn.close()
    return None if row is None else str(json.loads(row[0]))


def service(data_dir: Path, name: str = "default") -> str:
    found = keyring_id(data_dir, name)
    assert found, "the database names no keyring id"
    return f"{PREFIX}/id/{found}"


def legacy_service(name: str = "default") -> str:
    return f"{PREFIX}/{name}"


def data_key(service_name: str, entry: str = "data_key") -> bytes | None:
    text = keyring.get_password(service_name, entry)
    return None if text is None else base64.b64decode(text)


def entries(service_name: str, names: tuple[str, ...] = CREDENTIALS + KEYS) -> dict[str, str]:
    found = {n: keyring.get_password(service_name, n) for n in names}
    return {n: v for n, v in found.items() if v is not None}


def opened_values(data_dir: Path, key: bytes, name: str = "default") -> list[Any]:
    """Every payload value in the file, opened with `key` alone (raises if one does not open)."""
    codec = SealingCodec([key])
    conn = sqlite3.connect(f"file:{database(data_dir, name)}?mode=ro", uri=True)
    try:
        out: list[Any] = []
        for c in PAYLOAD_COLUMNS:
            keys = "".join(f', "{k}"' for k in c.key)
            sql = f'SELECT "{c.column}"{keys} FROM "{c.table}" WHERE "{c.column}" IS NOT NULL'
            for blob, *key in conn.execute(sql):
                assert bytes(blob)[0] == 0x01, f"{c.table}.{c.column} holds a clear value"
                out.append(codec.decode(bytes(blob), c.context, row_key(*key)))
        return out
    finally:
        conn.close()


def make_legacy(data_dir: Path, name: str = "default") -> None:
    """Turn a closed profile into one as an earlier version left it: no keyring id in the
    database, and its keys and credentials under the service named after the profile."""
    own = service(data_dir, name)
    for entry, value in entries(own).items():
        keyring.set_password(legacy_service(name), entry, value)
    for entry in (*CREDENTIALS, *KEYS, "data_key_created", "data_key_next_created", "encryption"):
        if keyring.get_password(own, entry) is not None:
            keyring.delete_password(own, entry)
    conn = sqlite3.connect(database(data_dir, name))
    try:
        with conn:
            conn.execute("DELETE FROM setting WHERE key = 'keyring_id'")
    finally:
        conn.close()


def copy_folder(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.lock"))
