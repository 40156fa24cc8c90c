"""A server whose certificate fails the check is reported as that, everywhere a person reads why
syncing stopped: the sign-in dialog's connection test, a sync round, the status and the Health
page, and the command line. The server here is a real loopback TLS server with a certificate made
on the spot, so every failure is a real one raised by the TLS library."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agent.api.facade import Agent, AgentOptions
from agent.autotask import ApiCredentials, AutotaskClient, ClientOptions
from agent.autotask.errors import NetworkError, UntrustedCertificateError
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.resilience.classify import Category, classify
from agent.resilience.connectivity import Connectivity
from tests.security.tls_server import make_certificate, tls_server

UNTRUSTED = "certificate is not trusted"
UNREACHABLE = "cannot be reached"
SECRET = "cert-SECRET-55"
CODE = "CERT-CODE-55"


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[str]:
    """A directory on this computer whose certificate signed itself."""
    cert, key = make_certificate(tmp_path)
    async with tls_server(cert, key) as port:
        yield f"https://127.0.0.1:{port}/ATServicesRest/"


async def test_the_client_raises_a_certificate_error_that_explains_itself(directory: str) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        client = AutotaskClient(
            http,
            ApiCredentials("tech@example.com", SECRET, CODE),
            options=ClientOptions(directory_url=directory),
        )
        with pytest.raises(UntrustedCertificateError) as failed:
            await client.threshold()
    error = failed.value
    # Still a connection failure to everything that retries, counts breakers or goes offline.
    assert isinstance(error, NetworkError) and error.phase == "connect"
    assert not error.may_have_reached_server
    assert UNTRUSTED in str(error).lower() and "127.0.0.1" in str(error)
    assert "signed itself" in str(error)
    found = classify(error)
    assert found.category is Category.CERTIFICATE
    assert UNTRUSTED in found.message.lower() and UNREACHABLE not in found.message


async def test_the_connection_test_and_sign_in_say_the_certificate_is_not_trusted(
    directory: str, tmp_path: Path
) -> None:
    tested = await Agent.test_connection("tech@example.com", SECRET, CODE, directory_url=directory)
    agent = await Agent.open(
        AgentOptions(data_dir=tmp_path, directory_url=directory, sample_metrics=False)
    )
    try:
        signed = await agent.sign_in("tech@example.com", SECRET, CODE, "tech@example.com")
    finally:
        await agent.close()
    for result in (tested, signed):
        assert not result.ok
        assert result.kind == "untrusted_certificate"
        assert UNTRUSTED in result.message.lower()
        assert UNREACHABLE not in result.message
        assert SECRET not in result.message


async def _online() -> bool:
    return True


async def test_sync_status_and_health_say_the_certificate_is_not_trusted(
    directory: str, tmp_path: Path
) -> None:
    agent = await Agent.open(
        AgentOptions(
            data_dir=tmp_path,
            directory_url=directory,
            clock=FakeClock(),
            credentials=ApiSecretBundle("tech@example.com", SECRET, CODE),
            technician_resource_id=1,
            probe=_online,
            sample_metrics=False,
        )
    )
    try:
        reports = [await agent.sync_now() for _ in range(3)]
        status = await agent.status()
        health = agent.health()
    finally:
        await agent.close()
    for report in reports:
        assert report is not None and report.error is not None
        assert UNTRUSTED in report.error.lower()
        assert "certificate: The server's" in report.error
        assert "transient_network" not in report.error
        assert report.pull_error is None or report.pull_error.startswith("certificate: ")
    assert status.connection_problem is not None
    assert UNTRUSTED in status.connection_problem.lower()
    assert UNTRUSTED in status.reason.lower() and UNREACHABLE not in status.reason
    connectivity = next(c for c in health.checks if c[0] == "connectivity")
    assert UNTRUSTED in connectivity[2].lower()
    assert UNTRUSTED in health.reason.lower()


async def test_a_probe_that_connects_does_not_clear_the_certificate_problem() -> None:
    # The prober only opens a TCP connection, which an intercepting network accepts: only a
    # call that got an answer through TLS shows the certificate is trusted again.
    connectivity = Connectivity(_online, clock=FakeClock(), failures_to_offline=1)
    connectivity.report_network_failure("The server's certificate is not trusted: ...")
    assert not connectivity.online
    assert await connectivity.probe_now()
    assert connectivity.online and connectivity.untrusted_certificate is not None
    connectivity.report_success()
    assert connectivity.untrusted_certificate is None


def test_the_sync_command_says_the_certificate_is_not_trusted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import threading

    from agent.cli import main
    from agent.profile import open_profile

    cert, key = make_certificate(tmp_path)
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    ports: list[int] = []

    async def serve() -> None:
        async with tls_server(cert, key) as port:
            ports.append(port)
            stop.append(asyncio.Event())
            loop.append(asyncio.get_running_loop())
            ready.set()
            await stop[0].wait()

    loop: list[asyncio.AbstractEventLoop] = []
    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        profile = open_profile(tmp_path, "default")
        try:
            profile.settings_repo.save(
                api_directory_url=f"https://127.0.0.1:{ports[0]}/ATServicesRest/",
                technician_resource_id=1,
            )
            profile.vault.record_directory(f"https://127.0.0.1:{ports[0]}/ATServicesRest/")
            profile.credentials.save(ApiSecretBundle("tech@example.com", SECRET, CODE))
        finally:
            profile.close()
        code = main(["--data-dir", str(tmp_path), "sync"])
    finally:
        loop[0].call_soon_threadsafe(stop[0].set)
        thread.join(5)
    out = capsys.readouterr()
    assert code == 1
    assert UNTRUSTED in out.out.lower() and "certificate: The server's" in out.out
    assert UNREACHABLE not in out.out and "transient_network" not in out.out
    assert SECRET not in out.out + out.err
