"""Settings and the command line under random input: typed values or a typed refusal, never a
crash; damaged stored settings fall back to defaults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.cli import build_parser, main
from agent.profile import Profile, open_profile
from agent.settings import Settings, SettingsError, validate
from agent.store.models import Setting

NAMES = sorted(Settings.__dataclass_fields__)
anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["true", "off", "1e309", "NaN", "-0", "https://x.example/", "http://x/"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
KINDS = {"bool": bool, "int": int, "float": float, "str": str}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), anything)
def test_validate_returns_the_settings_type_or_a_settings_error(name: str, value: Any) -> None:
    try:
        result = validate(name, value)
    except SettingsError as exc:
        refusal = str(exc)
    else:
        refusal = ""
    if refusal:
        assert name in refusal or "number" in refusal
        return
    declared = str(Settings.__dataclass_fields__[name].type)
    if result is None:
        assert "None" in declared
        return
    assert type(result) is KINDS[declared.split(" ")[0]]
    Settings().with_changes(**{name: result})  # an accepted value is accepted again


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Profile]:
    import keyring

    from agent.credentials import InProcessKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(InProcessKeyring())  # module scope: outlives the per-test keyring
    p = open_profile(tmp_path_factory.mktemp("settings"), "default")
    yield p
    p.close()
    keyring.set_keyring(previous)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(st.sampled_from([*NAMES, "future_setting"]), st.text(max_size=30), max_size=4)
)
def test_damaged_stored_settings_load_as_defaults(profile: Profile, rows: dict[str, str]) -> None:
    def write() -> None:
        Setting.delete().execute()
        for key, raw in rows.items():
            Setting.create(key=key, value=raw)

    profile.store.write(write)
    loaded = profile.settings_repo.load()
    for name in NAMES:
        raw = rows.get(name)
        value = getattr(loaded, name)
        if raw is None:
            assert value == Settings.__dataclass_fields__[name].default
        else:
            try:
                expected = validate(name, json.loads(raw))
            except (ValueError, SettingsError):
                expected = Settings.__dataclass_fields__[name].default
            assert value == expected or (value != value and expected != expected)


TOKENS = [
    "--headless",
    "--demo",
    "--data-dir",
    "--profile",
    "--metrics-port",
    "status",
    "--json",
    "settings",
    "list",
    "set",
    "sync",
    "queue",
    "retry",
    "conflicts",
    "resolve",
    "--value",
    "--mine",
    "--all",
    "audit",
    "export",
    "--output",
    "edit",
    "ticket",
    "note",
    "--text",
    "time",
    "--hours",
    "-1",
    "1e999",
    "--",
    "-h",
]


PARSER = build_parser()


@settings(max_examples=120, deadline=None)
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=12), max_size=8))
def test_any_argv_parses_or_exits_cleanly(argv: list[str]) -> None:
    code: Any = "parsed"
    try:
        PARSER.parse_args(argv)
    except SystemExit as exc:
        code = exc.code
    assert code in ("parsed", 0, 2)


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "a\x00b", "status"],
        ["--profile", "../../etc", "status"],
        ["--profile", "x" * 500, "settings", "list"],
        ["settings", "set", "sync_interval_s", "9" * 5000],
        ["settings", "set", "api_directory_url", "http://evil.example/"],
        ["settings", "set", "encrypt_at_rest", "maybe"],
        ["settings", "set", "not_a_setting", "1"],
    ],
)
def test_hostile_command_lines_end_in_a_message_not_a_traceback(
    argv: list[str], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_an_unusable_data_folder_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--data-dir", str(blocker / "sub"), "status"]) == 2
    assert "cannot be used" in capsys.readouterr().err


def test_a_missing_data_key_is_a_message_not_a_traceback(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import keyring

    from agent.store.models import CachedEntity

    p = open_profile(data_dir, "default")
    p.store.write(
        lambda: CachedEntity.create(entity_type="Tickets", entity_id=1, data={}, fetched_at=1)
    )
    p.close()
    keyring.delete_password(p.vault.service, "data_key")
    assert main(["status"]) == 2
    assert "no longer holds its key" in capsys.readouterr().err
