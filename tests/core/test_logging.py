"""Logs go to a private rotating file and never show secrets or authentication headers."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from agent import logs
from agent.credentials import ApiSecretBundle, CredentialStore

SECRET = "Sup3r-Secret-Value-123"
CODE = "IC-7777-XYZ-INTEGRATION"


@pytest.fixture
def log_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "logs" / "agent.log"
    handler = logs.configure(path, "DEBUG")
    yield path
    logging.getLogger().removeHandler(handler)
    handler.close()


def test_a_logged_request_with_headers_shows_no_secret(log_file: Path) -> None:
    CredentialStore("p").save(ApiSecretBundle("tech@example.com", SECRET, CODE))
    headers = {
        "ApiIntegrationCode": CODE,
        "UserName": "tech@example.com",
        "Secret": SECRET,
        "Authorization": "Bearer abc.def.ghi",
    }
    log = logging.getLogger("agent.autotask")
    log.info("request GET /Tickets/1 headers=%s", headers)
    log.debug("raw header line Secret: %s", "another-unregistered-secret")
    try:
        raise RuntimeError(f"server said no to {SECRET}")
    except RuntimeError:
        log.exception("call failed")
    text = log_file.read_text()
    assert "tech@example.com" in text and "/Tickets/1" in text
    for leaked in (SECRET, CODE, "abc.def.ghi", "another-unregistered-secret"):
        assert leaked not in text
    assert "server said no to ***" in text


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_log_file_and_folder_are_private(log_file: Path) -> None:
    logging.getLogger("agent").warning("hello")
    assert log_file.stat().st_mode & 0o777 == 0o600
    assert os.stat(log_file.parent).st_mode & 0o777 == 0o700


def test_redaction_covers_json_and_form_shapes() -> None:
    assert logs.redact('{"secret": "abc123"}') == '{"secret": "***"}'
    assert logs.redact("password=hunter22&x=1") == "password=***&x=1"
    assert logs.redact("ApiIntegrationCode: ZZZ") == "ApiIntegrationCode: ***"
