"""A certificate that fails its check has a category of its own (`certificate`), not that of a
network outage: it is not retried inside a call, the queue says why a change waits, and a sync
round names it. A redirect the agent refuses to follow is said as such, not as an answer the
program does not understand."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agent.api import views
from agent.api.facade import Agent, AgentOptions
from agent.autotask.errors import RedirectRefusedError, UntrustedCertificateError
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.queue import MemoryBackend
from agent.queue.operation import NewOperation
from agent.resilience.classify import Action, Category, classify
from agent.resilience.retry import READ_RETRY_ON, RetryPolicy
from agent.store.models import OpKind

UNTRUSTED = (
    "The server's certificate is not trusted: the server at webservices5.autotask.net presented "
    "a certificate it signed itself."
)
GENERIC = "does not understand"
DIRECTORY = "https://directory.example.org/ATServicesRest/"
ZONE = "https://zone.example.org/ATServicesRest/"
ELSEWHERE = "https://elsewhere.example.net/ATServicesRest/V1.0/x"


def untrusted() -> UntrustedCertificateError:
    return UntrustedCertificateError(UNTRUSTED, phase="connect", method="GET", endpoint="Tickets")


def test_a_certificate_failure_is_its_own_category_and_waits_for_a_trusted_network() -> None:
    found = classify(untrusted())
    assert found.category is Category.CERTIFICATE and found.category.value == "certificate"
    assert found.action is Action.RETRY_WITH_BACKOFF  # the change stays queued, it is not lost
    assert found.message == UNTRUSTED


def test_a_plain_httpx_certificate_failure_is_a_certificate_failure_too() -> None:
    error = httpx.ConnectError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    assert classify(error).category is Category.CERTIFICATE
    assert classify(httpx.ConnectError("Connection refused")).category is (
        Category.TRANSIENT_NETWORK
    )


async def test_a_certificate_failure_is_not_retried_inside_the_call() -> None:
    calls = 0

    async def read() -> None:
        nonlocal calls
        calls += 1
        raise untrusted()

    policy = RetryPolicy(on=READ_RETRY_ON, clock=FakeClock())
    with pytest.raises(UntrustedCertificateError):
        await policy.run(read)
    assert calls == 1


def test_a_change_held_back_by_a_certificate_says_so_in_the_queue() -> None:
    box = MemoryBackend(FakeClock())
    box.enqueue(
        NewOperation(OpKind.CREATE, "TicketNotes", {"title": "Done", "parentId": 7}, temp_id="n1")
    )
    [op] = box.claim("worker", 300.0)
    again = box.release(op.id, retry_at=60.0, error=UNTRUSTED, category="certificate")
    words = views.queue_item(again).last_error or ""
    assert "certificate" in words and "not trusted" in words
    assert words != views.ERROR_WORDS["transient_network"]


def _redirecting(status: int, where: str) -> Callable[[httpx.Request], httpx.Response]:
    """The directory (302) or the zone (307) answers every request with a redirect."""

    def handle(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == "directory.example.org":
            if status == 302:
                return httpx.Response(302, headers={"Location": where})
            body = {"zoneName": "Zone", "url": ZONE, "webUrl": "", "ci": 5}
            return httpx.Response(200, content=json.dumps(body).encode())
        return httpx.Response(status, headers={"Location": where})

    return handle


def test_a_refused_redirect_says_it_was_a_redirect() -> None:
    error = RedirectRefusedError(
        "The server at zone.example.org redirected the request elsewhere",
        status=307,
        method="GET",
        endpoint="Tickets",
    )
    found = classify(error)
    assert found.category is Category.PROTOCOL
    assert "redirect" in found.message and GENERIC not in found.message


@pytest.mark.parametrize("status", [302, 307])
async def test_a_sync_round_says_the_server_redirected_and_redirects_are_not_followed(
    tmp_path: Path, status: int
) -> None:
    async def online() -> bool:
        return True

    agent = await Agent.open(
        AgentOptions(
            data_dir=tmp_path,
            directory_url=DIRECTORY,
            transport=httpx.MockTransport(_redirecting(status, ELSEWHERE)),
            clock=FakeClock(),
            credentials=ApiSecretBundle("tech@example.com", "redirect-SECRET-1", "CODE-1"),
            technician_resource_id=1,
            probe=online,
            sample_metrics=False,
        )
    )
    try:
        report = await agent.sync_now()
    finally:
        await agent.close()
    assert report is not None
    said = " ".join(filter(None, [report.error, report.pull_error]))
    assert "redirect" in said and "not follow" in said
    assert GENERIC not in said
    assert "elsewhere.example.net" in said
    assert "redirect-SECRET-1" not in said
