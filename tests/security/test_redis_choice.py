"""The fleet's Redis address is the user's (or the policy's) choice, recorded in the keyring beside
its password: an address written into the settings table by an edit of the file receives neither
the password nor the fleet's counters."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import keyring
import pytest

from agent.profile import open_profile
from tests.security.keyring_helpers import database, service

PASSWORD = "fleet-Redis-pw-5521"
CHOSEN = "rediss://fleet@redis.office.example:6380/0"
EVIL = "rediss://fleet@evil.example.net:6380/0"


def write_row(data_dir: Path, key: str, value: object) -> None:
    """What anyone who can write the file can do: one row in the settings table."""
    with sqlite3.connect(database(data_dir)) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )
    conn.close()


def choose(data_dir: Path, url: str) -> None:
    profile = open_profile(data_dir)
    try:
        profile.settings_repo.update(redis_url=url)
    finally:
        profile.close()


def connection_url(data_dir: Path) -> str | None:
    profile = open_profile(data_dir)
    try:
        return profile.settings_repo.redis_connection_url()
    finally:
        profile.close()


@pytest.mark.parametrize(
    ("chosen", "edited"),
    [
        (f"rediss://fleet:{PASSWORD}@redis.office.example:6380/0", EVIL),
        ("rediss://redis.office.example:6380/0", "rediss://evil.example.net:6380/0"),
        (None, EVIL),
    ],
    ids=["with-password", "without-password", "none-chosen"],
)
def test_an_address_edited_into_the_file_is_not_connected_to(
    tmp_path: Path, chosen: str | None, edited: str
) -> None:
    if chosen:
        choose(tmp_path, chosen)
    else:  # a profile that never chose a Redis server
        open_profile(tmp_path).close()
    write_row(tmp_path, "redis_url", edited)
    assert connection_url(tmp_path) is None
    # Put back as chosen, it is used again, password and all.
    write_row(tmp_path, "redis_url", (chosen or "").replace(f":{PASSWORD}", ""))
    if chosen:
        assert connection_url(tmp_path) == chosen


def test_a_password_edited_into_the_file_does_not_replace_the_chosen_one(tmp_path: Path) -> None:
    choose(tmp_path, f"rediss://fleet:{PASSWORD}@redis.office.example:6380/0")
    write_row(tmp_path, "redis_url", "rediss://fleet:planted@evil.example.net:6380/0")
    assert connection_url(tmp_path) is None
    assert keyring.get_password(service(tmp_path), "redis_password") == PASSWORD


def test_choosing_an_address_again_in_settings_makes_it_the_one(tmp_path: Path) -> None:
    choose(tmp_path, f"rediss://fleet:{PASSWORD}@redis.office.example:6380/0")
    choose(tmp_path, f"rediss://fleet:{PASSWORD}@other.office.example:6380/0")
    assert connection_url(tmp_path) == f"rediss://fleet:{PASSWORD}@other.office.example:6380/0"
    choose(tmp_path, "")  # none: a later edit of the file is not taken either
    write_row(tmp_path, "redis_url", EVIL)
    assert connection_url(tmp_path) is None


def test_an_address_an_earlier_version_kept_with_its_password_is_taken_as_chosen(
    tmp_path: Path,
) -> None:
    choose(tmp_path, f"rediss://fleet:{PASSWORD}@redis.office.example:6380/0")
    keyring.delete_password(service(tmp_path), "redis_address")  # as an earlier version left it
    assert connection_url(tmp_path) == f"rediss://fleet:{PASSWORD}@redis.office.example:6380/0"
    assert keyring.get_password(service(tmp_path), "redis_address") == CHOSEN
    write_row(tmp_path, "redis_url", EVIL)
    assert connection_url(tmp_path) is None
