"""What a policy's values may be, and what its errors say: a secret-bearing key's value is never
echoed, whatever is wrong with it; duplicate keys, a document nested too deeply and secrets that
cannot travel in an HTTP header are refused with a clear error naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.config.policy import PolicyError, parse
from agent.config.sources import load, read_file
from tests.config.helpers import use_policy

SECRET_KEYS = ("api_secret", "integration_code", "redis_url")
PASSWORD = "s3cr3t-Pa55"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("key", SECRET_KEYS)
@pytest.mark.parametrize(
    "value",
    [
        1234567890123,
        12345.678901,
        [PASSWORD],
        {"password": PASSWORD},
        [[PASSWORD, 987654321]],
        True,
        f"redis://:{PASSWORD}@h",
    ],
)
def test_a_secret_keys_bad_value_is_never_echoed(key: str, value: Any) -> None:
    if key != "redis_url" and isinstance(value, str):
        value = [value]
    with pytest.raises(PolicyError) as caught:
        parse({key: value}, "policy.json")
    said = str(caught.value) + " ".join(caught.value.problems)
    assert key in said
    for part in (PASSWORD, "1234567890123", "12345.678901", "987654321", "True"):
        assert part not in said, said


def test_a_bad_redis_url_shows_no_password() -> None:
    for url in (
        f"redis://:{PASSWORD}@redis.office.example:6379/0",  # plain redis to another host
        f"https://user:{PASSWORD}@redis.office.example/",
        f"rediss://user:{PASSWORD}@redis.office.example:6380/x",
        f"rediss://user:{PASSWORD}@redis.office.example:99999/0",
    ):
        with pytest.raises(PolicyError) as caught:
            parse({"redis_url": url}, "policy.json")
        assert "redis_url" in caught.value.problems[0]
        assert PASSWORD not in str(caught.value) + " ".join(caught.value.problems)


def test_a_secret_of_the_wrong_type_names_the_key_and_the_type_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(
        '{"api_secret": 1234567890123, "integration_code": ["s3cr3t"],'
        ' "redis_url": ["redis://:pw-s3cr3t@h"]}',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "policy", "check", str(path))
    assert code == 2 and out == ""
    assert "api_secret must be text" in err and "integration_code must be text" in err
    assert "redis_url must be text" in err
    for part in ("1234567890123", "s3cr3t"):
        assert part not in err
    with pytest.raises(PolicyError) as caught:
        read_file(path)
    assert "s3cr3t" not in str(caught.value) and "1234567890123" not in str(caught.value)


# Duplicate keys: the last would win silently (a policy saying both true and false).
def test_a_key_given_twice_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(
        '{"encryption_required": true, "api_secret": "one-s3cr3t",'
        ' "encryption_required": false, "api_secret": "two-s3cr3t"}',
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        read_file(path)
    assert caught.value.origin == str(path)
    said = " ".join(caught.value.problems)
    assert "'encryption_required' is given more than once" in said
    assert "'api_secret' is given more than once" in said
    assert "s3cr3t" not in str(caught.value)
    code, out, err = run(capsys, "policy", "check", str(path))
    assert code == 2 and out == "" and "encryption_required" in err and "more than once" in err


def test_a_key_given_twice_in_a_property_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.plist"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
        "<key>encryption_required</key><true/><key>encryption_required</key><false/>"
        "</dict></plist>",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="'encryption_required' is given more than once"):
        read_file(path)


# A document nested deeper than the reader can follow, well under the size limit.
@pytest.mark.parametrize("text", ["[" * 200_000, '{"quota_share": ' + "[" * 200_000])
def test_a_document_nested_too_deeply_is_a_clear_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        read_file(path)
    assert caught.value.origin == str(path)
    assert "nested too deeply" in caught.value.problems[0]
    code, out, err = run(capsys, "policy", "check", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: ") and "unexpected" not in err


def test_the_start_names_a_file_nested_too_deeply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "policy.json"
    path.write_text("[" * 200_000, encoding="utf-8")
    use_policy(monkeypatch, [path])
    with pytest.raises(PolicyError, match="nested too deeply") as caught:
        load()
    assert caught.value.origin == str(path)


# What cannot be sent in an HTTP header: a letter outside ASCII, a lone surrogate, a control
# character.
UNSENDABLE = ["sécret-1", "s3cr\ud800t", "s3cr\x00t", "s3cr\x07t", "s3cr\tt", "s3cr\x7ft"]


@pytest.mark.parametrize("key", ["api_user", "api_secret", "integration_code"])
@pytest.mark.parametrize("value", UNSENDABLE)
def test_a_sign_in_part_that_cannot_be_sent_is_refused_unechoed(key: str, value: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse({key: value}, "policy.json")
    said = caught.value.problems[0]
    assert said.startswith(key) and "cannot be sent to Autotask" in said
    assert value not in said and "s3cr" not in str(caught.value) and "sécret" not in said


def test_an_unsendable_secret_in_a_file_is_refused_by_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"api_secret": "s\\u00e9cr3t", "integration_code": "c\\ud800de"}')
    code, out, err = run(capsys, "policy", "check", str(path))
    assert code == 2 and out == ""
    assert "api_secret" in err and "integration_code" in err and "cannot be sent" in err
    assert "cr3t" not in err and "de" not in err.replace("decode", "").split("integration_code")[0]


@pytest.mark.parametrize("part", [0, 1, 2])
@pytest.mark.parametrize("value", ["sécret-1", "s3cr\ud800t", "s3cr\x00t", "s3cr\x07t"])
async def test_a_typed_sign_in_that_cannot_be_sent_fails_clearly_unechoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: int, value: str
) -> None:
    from agent.api.facade import Agent, AgentOptions
    from agent.clock import FakeClock
    from agent.simulator import (
        DEMO_INTEGRATION_CODE,
        DEMO_SECRET,
        DEMO_USERNAME,
        Simulator,
        serve,
    )

    async def online() -> bool:
        return True

    sim = Simulator(seed="policy", tickets=2, threshold=10_000_000)
    sim.limits.latency_enabled = False
    typed = [DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE]
    typed[part] = value
    async with serve(sim) as base:
        path = tmp_path / "etc" / "policy.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"directory": base + "/ATServicesRest/"}))
        use_policy(monkeypatch, [path])
        agent = await Agent.open(
            AgentOptions(
                data_dir=tmp_path / "data", clock=FakeClock(), probe=online, sample_metrics=False
            )
        )
        try:
            email = sim.dump()["Resources"][sim.technician_resource_id]["email"]
            for result in (
                await agent.test_sign_in(*typed),
                await agent.sign_in(*typed, email),
            ):
                assert not result.ok
                assert "cannot be sent to Autotask" in result.message
                assert "s3cr" not in result.message and "sécret" not in result.message
            assert agent.settings.technician_resource_id is None and agent.engine is None
        finally:
            await agent.close()


@pytest.mark.parametrize("value", ["sécret-1", "s3cr\ud800t", "s3cr\x00t"])
def test_kept_credentials_that_cannot_be_sent_pause_for_a_new_sign_in(value: str) -> None:
    """Credentials an earlier version kept: every call refuses them before anything is sent, as
    a refused sign-in (the queue waits for a new one; nothing is dropped)."""
    from agent.autotask.credentials import ApiCredentials
    from agent.autotask.errors import AuthenticationError
    from agent.resilience.classify import Action, Category, classify

    with pytest.raises(AuthenticationError) as caught:
        ApiCredentials("tech@example.com", value, "CODE").headers()
    assert "The secret holds a character that cannot be sent" in str(caught.value)
    assert "s3cr" not in str(caught.value) + repr(caught.value)
    said = classify(caught.value)
    assert said.category is Category.AUTHENTICATION
    assert said.action is Action.PAUSE_FOR_CREDENTIALS
