"""Only https leaves the computer, certificates are always checked, and failures read plainly."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import httpx
import pytest

from agent.api.facade import Agent, AgentOptions
from agent.credentials import ApiSecretBundle
from agent.security.errors import InsecureUrlError
from agent.security.transit import (
    certificate_problem,
    require_same_origin,
    require_secure_url,
)
from agent.settings import Settings, SettingsError, validate
from tests.security.tls_server import make_certificate, tls_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "url",
    [
        "https://webservices2.autotask.net/ATServicesRest/",
        "https://example.com:8443/x",
        "http://127.0.0.1:8765/ATServicesRest/",
        "http://localhost/ATServicesRest/",
        "http://[::1]:9000/",
        "https://127.0.0.1/",
    ],
)
def test_https_and_loopback_addresses_are_accepted(url: str) -> None:
    assert require_secure_url(url) == url
    assert validate("api_directory_url", url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://webservices2.autotask.net/ATServicesRest/",
        "http://192.168.1.10/",
        "http://localhost.evil.example/",
        "ftp://example.com/",
        "webservices.autotask.net/ATServicesRest/",
        "https:///nohost",
        "http://127.0.0.1:notaport/",
        "javascript:alert(1)",
    ],
)
def test_other_addresses_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(InsecureUrlError):
        require_secure_url(url)
    with pytest.raises(SettingsError, match="api_directory_url"):
        validate("api_directory_url", url)


def test_a_refusal_never_repeats_a_password_in_the_address() -> None:
    with pytest.raises(InsecureUrlError) as caught:
        require_secure_url("http://user:hunter2-secret@example.com/")
    assert "hunter2" not in str(caught.value)


def test_an_empty_directory_setting_still_means_the_default() -> None:
    assert Settings().with_changes(api_directory_url=None).api_directory_url is None


def test_a_next_page_link_must_stay_on_the_same_server() -> None:
    base = "https://webservices2.autotask.net/ATServicesRest/V1.0/Tickets/query"
    good = "https://webservices2.autotask.net/ATServicesRest/V1.0/Tickets/query/next?x=1"
    assert require_same_origin(good, base) == good
    for bad in (
        "https://attacker.example/ATServicesRest/V1.0/Tickets/query/next",
        "http://webservices2.autotask.net/ATServicesRest/V1.0/Tickets/query/next",
        "https://webservices2.autotask.net:8443/ATServicesRest/V1.0/next",
    ):
        with pytest.raises(InsecureUrlError, match="another server"):
            require_same_origin(bad, base)


def test_no_setting_can_turn_certificate_checks_off() -> None:
    names = [f.lower() for f in Settings.__dataclass_fields__]
    assert not [n for n in names if re.search(r"verify|ssl|tls|cert|insecure", n)]


def test_no_code_weakens_certificate_verification() -> None:
    weakening = re.compile(
        r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
    )
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("agent", "ui")
        for path in (ROOT / folder).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if weakening.search(line)
    ]
    assert offenders == []


async def _online() -> bool:
    return True


async def test_the_agents_http_client_verifies_certificates(tmp_path: Path) -> None:
    agent = await Agent.open(
        AgentOptions(
            data_dir=tmp_path,
            credentials=ApiSecretBundle("tech@example.com", "s3cret-x", "CODE-x"),
            technician_resource_id=1,
            probe=_online,
            sample_metrics=False,
        )
    )
    try:
        http = agent._http
        assert http is not None
        context = http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    finally:
        await agent.close()


async def _fetch_error(port: int, verify: ssl.SSLContext | bool = True) -> httpx.ConnectError:
    async with httpx.AsyncClient(verify=verify, timeout=5) as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.get(f"https://127.0.0.1:{port}/")
    return caught.value


async def test_a_self_signed_certificate_is_refused_and_explained(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    async with tls_server(cert, key) as port:
        error = await _fetch_error(port)
    message = certificate_problem(error, "127.0.0.1")
    assert message is not None
    assert "signed itself" in message and "were not sent" in message
    assert "127.0.0.1" in message


async def test_an_expired_certificate_is_explained(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, expired=True)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with tls_server(cert, key) as port:
        error = await _fetch_error(port, trusting)
    message = certificate_problem(error)
    assert message is not None and "expired" in message


async def test_a_certificate_for_another_name_is_explained(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, names=("files.example.org",))
    trusting = ssl.create_default_context(cafile=str(cert))
    async with tls_server(cert, key) as port:
        error = await _fetch_error(port, trusting)
    message = certificate_problem(error)
    assert message is not None and "different name" in message


async def test_a_trusted_certificate_connects(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with (
        tls_server(cert, key) as port,
        httpx.AsyncClient(verify=trusting, timeout=5) as http,
    ):
        response = await http.get(f"https://127.0.0.1:{port}/")
    assert response.json() == {}


def test_other_connection_failures_are_not_called_certificate_problems() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    assert certificate_problem(refused) is None
    assert certificate_problem(TimeoutError("timed out")) is None
    wrapped = httpx.ConnectError("handshake failed")
    wrapped.__cause__ = ssl.SSLCertVerificationError(1, "certificate verify failed: unknown ca")
    message = certificate_problem(wrapped)
    assert message is not None and "does not trust" in message
