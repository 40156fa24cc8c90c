"""What a policy's values may be, and what its errors say: a secret-bearing key's value is never
echoed, whatever is wrong with it; duplicate keys, a document nested too deeply and secrets that
cannot travel in an HTTP header are refused with a clear error naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.config.policy import PolicyError, parse
from agent.config.sources import read_file

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
