"""The zone address a directory answers decides where the credentials go, so it is checked
before anything is sent there: https only (this computer excepted), and a host under
`autotask.net` when Autotask's own directory named it. Every test counts what reached each host
(a recording transport), not only that an error was raised."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agent.api.facade import Agent, AgentOptions
from agent.autotask import (
    DEFAULT_DIRECTORY_URL,
    ApiCredentials,
    AutotaskClient,
    ClientOptions,
    ProtocolError,
    Zone,
)
from agent.autotask.errors import UntrustedZoneError
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.security.trust import zone_url_problem

SECRET = "zone-trust-SECRET-81x"
CODE = "ZONE-TRUST-CODE-7"
CREDENTIALS = ApiCredentials("tech@example.com", SECRET, CODE)
GOOD_ZONE = "https://webservices5.autotask.net/ATServicesRest/"
CUSTOM = "https://directory.example.org/ATServicesRest/"

THRESHOLD = {
    "externalRequestThreshold": 10000,
    "requestThresholdTimeframe": 60,
    "currentTimeframeRequestCount": 1,
}


class Net:
    """Every host on one recording transport: the directory answers `zone_url`, any other host
    answers as a zone would. `requests` is the ground truth of what left."""

    def __init__(self, zone_url: str, directory: str = DEFAULT_DIRECTORY_URL) -> None:
        self.zone_url = zone_url
        self.directory_host = httpx.URL(directory).host
        self.requests: list[httpx.Request] = []
        self.directory_answer: Callable[[], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == self.directory_host and request.url.path.endswith(
            "/ZoneInformation"
        ):
            if self.directory_answer is not None:
                return self.directory_answer()
            body = {"zoneName": "Zone", "url": self.zone_url, "webUrl": "", "ci": 5}
            return httpx.Response(200, content=json.dumps(body).encode())
        path = request.url.path
        if path.endswith("/ThresholdInformation"):
            return httpx.Response(200, content=json.dumps(THRESHOLD).encode())
        if path.endswith("/query"):
            page = {"items": [{"id": 1, "email": "tech@example.com"}], "pageDetails": {}}
            return httpx.Response(200, content=json.dumps(page).encode())
        return httpx.Response(200, content=json.dumps({"items": [], "pageDetails": {}}).encode())

    def hosts(self) -> set[str]:
        return {r.url.host for r in self.requests}

    def secret_sent_to(self) -> set[str]:
        """The hosts that received the secret or the integration code."""
        return {
            r.url.host
            for r in self.requests
            if r.headers.get("Secret") == SECRET or r.headers.get("ApiIntegrationCode") == CODE
        }


def client_for(
    net: Net, directory: str = DEFAULT_DIRECTORY_URL, **kwargs: object
) -> tuple[httpx.AsyncClient, AutotaskClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(net), **kwargs)  # type: ignore[arg-type]
    return http, AutotaskClient(
        http, CREDENTIALS, options=ClientOptions(directory_url=directory), zone=None
    )


HOSTILE_FROM_DEFAULT = [
    "http://evil.example.net/ATServicesRest/",
    "https://evil.example.net/ATServicesRest/",
    "https://webservices5.autotask\t.net/ATServicesRest/",  # urlsplit drops tabs silently
    "https://webservices5.autotask.net\n.evil.com/ATServicesRest/",
    "https://autotask.net.evil.com/ATServicesRest/",
    "https://webservices5.autotask.net.evil.com/ATServicesRest/",
    "https://evilautotask.net/ATServicesRest/",
    "https://evil-autotask.net/ATServicesRest/",
    "HTTP://evil.example.net/ATServicesRest/",
    "HTTPS://evil.example.net/ATServicesRest/",
    "https://x@webservices1.autotask.net/ATServicesRest/",
    "https://webservices1.autotask.net\u3002evil.com/ATServicesRest/",  # an ideographic full stop
    "https://webservices1.xn--autotsk-0fg.net/ATServicesRest/",  # autotask with a Cyrillic letter
    "https://webservices5.autotask.net@evil.example.net/ATServicesRest/",
    "https://webservices5.autotask.net:443@evil.example.net/ATServicesRest/",
    "https://evil.example.net\\@webservices5.autotask.net/ATServicesRest/",
    "https://evil.example.net%2f.autotask.net/ATServicesRest/",
    "https://webservices5.autotаsk.net/ATServicesRest/",  # a Cyrillic "а"
    "https://webservices5.autotask.ｎｅｔ/ATServicesRest/",  # fullwidth letters
    "https://xn--webservices5-.autotask.net.evil.com/ATServicesRest/",
    "https://webservices5.autotask.net:8443/ATServicesRest/",
    "http://webservices5.autotask.net/ATServicesRest/",
    "https://127.0.0.1/ATServicesRest/",
    "http://localhost:8080/ATServicesRest/",
    "ftp://webservices5.autotask.net/ATServicesRest/",
    "https:///ATServicesRest/",
    "https://webservices5.autotask.net:99999/ATServicesRest/",
    "//evil.example.net/ATServicesRest/",
]


@pytest.mark.parametrize("zone_url", HOSTILE_FROM_DEFAULT)
async def test_a_zone_outside_autotask_net_gets_no_request_from_the_default_directory(
    zone_url: str,
) -> None:
    net = Net(zone_url)
    http, client = client_for(net)
    async with http:
        with pytest.raises(UntrustedZoneError) as refused:
            await client.threshold()
    # Only the directory was asked; nothing at all went anywhere else, credentials least of all.
    assert net.hosts() == {"webservices.autotask.net"}
    assert net.secret_sent_to() == set()
    assert client.zone is None
    message = str(refused.value)
    assert "zone" in message and "not sent" in message
    assert SECRET not in message and CODE not in message


@pytest.mark.parametrize(
    ("zone_url", "host"),
    [
        (GOOD_ZONE, "webservices5.autotask.net"),
        ("https://WEBSERVICES14.AutoTask.NET/ATServicesRest/", "webservices14.autotask.net"),
        ("https://webservices2.autotask.net./ATServicesRest/", "webservices2.autotask.net."),
        ("https://webservices3.autotask.net:443/ATServicesRest", "webservices3.autotask.net"),
        ("https://prde.autotask.net/ATServicesRest/", "prde.autotask.net"),
        ("HTTPS://webservices6.autotask.net/ATServicesRest/", "webservices6.autotask.net"),
    ],
)
async def test_a_zone_under_autotask_net_is_used(zone_url: str, host: str) -> None:
    net = Net(zone_url)
    http, client = client_for(net)
    async with http:
        threshold = await client.threshold()
    assert threshold.used == 1
    assert net.secret_sent_to() == {host}


@pytest.mark.parametrize(
    ("zone_url", "problem"),
    [
        ("https://zone.example.org/ATServicesRest/", None),
        ("https://zone.example.org:8443/ATServicesRest/", None),
        ("https://127.0.0.1:5000/ATServicesRest/", None),  # https: its certificate decides
        ("http://zone.example.org/ATServicesRest/", "https"),
        ("http://directory.example.org/ATServicesRest/", "https"),
        ("https://user:pw@zone.example.org/ATServicesRest/", "user name"),
        ("https://zone.example.org/ATServicesRest/?next=x", "query"),
        ("not a url", "spaces"),
    ],
)
def test_a_custom_directory_may_name_any_https_zone(zone_url: str, problem: str | None) -> None:
    found = zone_url_problem(zone_url, CUSTOM)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


LOOPBACK_HTTP_ZONES = [
    "http://127.0.0.1:5000/zone5/ATServicesRest/",
    "http://127.8.9.10:5000/ATServicesRest/",
    "http://[::1]:5000/ATServicesRest/",
    "http://localhost:5000/ATServicesRest/",
    "http://LOCALHOST./ATServicesRest/",
]


@pytest.mark.parametrize("zone_url", LOOPBACK_HTTP_ZONES)
def test_a_remote_directory_may_not_name_a_plain_http_zone_on_this_computer(
    zone_url: str,
) -> None:
    for directory in (CUSTOM, "https://10.0.0.5/ATServicesRest/"):
        problem = zone_url_problem(zone_url, directory)
        assert problem is not None and "this computer" in problem and "unencrypted" in problem


@pytest.mark.parametrize("zone_url", LOOPBACK_HTTP_ZONES)
def test_a_directory_on_this_computer_may_name_a_plain_http_zone_on_it(zone_url: str) -> None:
    for directory in (
        "http://127.0.0.1:8765/ATServicesRest/",
        "http://localhost:8765/ATServicesRest/",
        "https://[::1]:8443/ATServicesRest/",
    ):
        assert zone_url_problem(zone_url, directory) is None


async def test_no_credentials_go_to_a_local_port_a_remote_directory_names() -> None:
    zone = "http://127.0.0.1:5000/ATServicesRest/"
    net = Net(zone, CUSTOM)
    http, client = client_for(net, CUSTOM)
    async with http:
        with pytest.raises(UntrustedZoneError) as refused:
            await client.threshold()
    assert net.hosts() == {"directory.example.org"}
    assert net.secret_sent_to() == set()
    assert "this computer" in str(refused.value)


def test_a_plain_http_directory_may_name_its_own_host_only() -> None:
    # Only an in-process test transport is ever given a plain-http directory off this computer
    # (the agent refuses one otherwise); its zone may then live on that very host, no other.
    directory = "http://sim.test/ATServicesRest/"
    assert zone_url_problem("http://sim.test/zone5/ATServicesRest/", directory) is None
    assert zone_url_problem("http://sim.test:81/zone5/ATServicesRest/", directory) is not None
    assert zone_url_problem("http://other.test/ATServicesRest/", directory) is not None


def test_any_directory_under_autotask_net_counts_as_autotasks_own() -> None:
    for directory in (
        DEFAULT_DIRECTORY_URL,
        "https://WebServices.AutoTask.net./ATServicesRest/",
        "https://webservices14.autotask.net/ATServicesRest/",
    ):
        assert zone_url_problem("https://evil.example.net/ATServicesRest/", directory)
        assert zone_url_problem(GOOD_ZONE, directory) is None


async def test_a_custom_directory_naming_a_plain_http_host_sends_nothing_there() -> None:
    net = Net("http://evil.example.net/ATServicesRest/", CUSTOM)
    http, client = client_for(net, CUSTOM)
    async with http:
        with pytest.raises(UntrustedZoneError, match="https"):
            await client.threshold()
    assert net.hosts() == {"directory.example.org"}


async def test_a_stored_zone_that_is_not_trusted_is_looked_up_again_before_use() -> None:
    # A zone kept by an older version, or edited in the database file, is checked again.
    net = Net(GOOD_ZONE)
    seen: list[Zone | None] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(net)) as http:
        client = AutotaskClient(
            http,
            CREDENTIALS,
            zone=Zone("Zone 5", "http://evil.example.net/ATServicesRest/"),
            on_zone_change=seen.append,
        )
        assert client.zone is None
        await client.threshold()
    assert net.hosts() == {"webservices.autotask.net", "webservices5.autotask.net"}
    assert net.secret_sent_to() == {"webservices5.autotask.net"}
    assert [z.url if z else None for z in seen] == [GOOD_ZONE]


async def test_a_redirect_from_the_directory_is_not_followed() -> None:
    net = Net(GOOD_ZONE)
    net.directory_answer = lambda: httpx.Response(
        302, headers={"Location": "https://evil.example.net/ATServicesRest/V1.0/ZoneInformation"}
    )
    # Even a client built to follow redirects does not follow one on the way to a zone.
    http, client = client_for(net, follow_redirects=True)
    async with http:
        with pytest.raises(ProtocolError, match="redirect"):
            await client.threshold()
    assert net.hosts() == {"webservices.autotask.net"}


async def test_a_redirect_from_the_zone_is_not_followed_with_the_credentials() -> None:
    def zone(request: httpx.Request) -> httpx.Response:
        if request.url.host == "webservices5.autotask.net":
            where = "https://evil.example.net/ATServicesRest/V1.0/ThresholdInformation"
            return httpx.Response(307, headers={"Location": where})
        return net(request)

    net = Net(GOOD_ZONE)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(zone), follow_redirects=True
    ) as http:
        client = AutotaskClient(http, CREDENTIALS)
        with pytest.raises(ProtocolError, match="redirect"):
            await client.threshold()
    assert "evil.example.net" not in net.hosts()


async def test_a_next_page_address_with_a_user_name_trick_is_not_followed() -> None:
    pages = 0

    def zone(request: httpx.Request) -> httpx.Response:
        nonlocal pages
        if request.url.path.endswith("/query"):
            pages += 1
            nxt = "https://webservices5.autotask.net@evil.example.net/ATServicesRest/V1.0/x"
            body = {"items": [{"id": 1}], "pageDetails": {"nextPageUrl": nxt}}
            return httpx.Response(200, content=json.dumps(body).encode())
        return net(request)

    net = Net(GOOD_ZONE)
    async with httpx.AsyncClient(transport=httpx.MockTransport(zone)) as http:
        client = AutotaskClient(http, CREDENTIALS)
        with pytest.raises(ProtocolError, match="another host"):
            async for _ in client.query("Tickets"):
                pass
    assert pages == 1
    assert "evil.example.net" not in net.hosts()


# The agent: sign-in, the connection test and sync all refuse the zone -------------------------


async def _online() -> bool:
    return True


def _options(tmp_path: Path, net: Net, *, signed_in: bool = True) -> AgentOptions:
    return AgentOptions(
        data_dir=tmp_path,
        transport=httpx.MockTransport(net),
        clock=FakeClock(),
        credentials=ApiSecretBundle("tech@example.com", SECRET, CODE) if signed_in else None,
        technician_resource_id=1 if signed_in else None,
        probe=_online,
        sample_metrics=False,
    )


async def test_syncing_refuses_a_foreign_zone_and_says_why(tmp_path: Path) -> None:
    net = Net("http://evil.example.net/ATServicesRest/")
    agent = await Agent.open(_options(tmp_path, net))
    try:
        report = await agent.sync_now()
    finally:
        await agent.close()
    assert report is not None and report.error is not None
    assert "zone" in report.error and "evil.example.net" in report.error
    assert "evil.example.net" not in net.hosts()
    assert net.secret_sent_to() == set()


async def test_signing_in_and_testing_refuse_a_foreign_zone(tmp_path: Path) -> None:
    net = Net("https://webservices5.autotask.net.evil.com/ATServicesRest/")
    agent = await Agent.open(_options(tmp_path, net, signed_in=False))
    try:
        result = await agent.sign_in("tech@example.com", SECRET, CODE, "tech@example.com")
    finally:
        await agent.close()
    tested = await Agent.test_connection(
        "tech@example.com", SECRET, CODE, transport=httpx.MockTransport(net)
    )
    for outcome in (result, tested):
        assert not outcome.ok and outcome.kind == "untrusted_zone"
        assert "webservices5.autotask.net.evil.com" in outcome.message
    assert net.hosts() == {"webservices.autotask.net"}
