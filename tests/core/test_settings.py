"""Typed settings: defaults, validation with clear messages, persistence in the profile database."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import Settings, SettingsError, SettingsRepository, validate
from agent.store import Store
from agent.store.models import Setting


def test_defaults_are_sensible() -> None:
    s = Settings()
    assert s.work_offline is False
    assert s.sync_interval_s == 60
    assert s.durability == "normal"
    assert s.redis_url is None


def test_changes_persist_and_only_non_defaults_are_stored(tmp_path: Path) -> None:
    with Store(tmp_path / "a.sqlite3") as store:
        repo = SettingsRepository(store)
        repo.update(sync_interval_s="120", work_offline="yes", durability="full")
        repo.update(work_offline=False)
        assert store.read(lambda: sorted(s.key for s in Setting.select())) == [
            "durability",
            "sync_interval_s",
        ]
    with Store(tmp_path / "a.sqlite3") as store:
        loaded = SettingsRepository(store).load()
    assert (loaded.sync_interval_s, loaded.work_offline, loaded.durability) == (120, False, "full")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("sync_interval_s", "soon", "must be a number"),
        ("sync_interval_s", 5, "between 10 and 3600"),
        ("sync_interval_s", 12.5, "whole number"),
        ("quota_share", float("nan"), "finite"),
        ("work_offline", "maybe", "true or false"),
        ("durability", "extreme", "one of normal, full"),
        ("nonsense", 1, "Unknown setting"),
        ("notifications", None, "needs a value"),
    ],
)
def test_invalid_values_are_refused_with_a_message_naming_the_setting(
    name: str, value: object, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        validate(name, value)


def test_a_damaged_stored_value_falls_back_to_the_default(tmp_path: Path) -> None:
    with Store(tmp_path / "a.sqlite3") as store:
        store.write(lambda: Setting.create(key="sync_interval_s", value="{not json"))
        store.write(lambda: Setting.create(key="quota_share", value="7"))
        loaded = SettingsRepository(store).load()
    assert loaded.sync_interval_s == 60 and loaded.quota_share == 0.5
