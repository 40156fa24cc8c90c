"""A scripted Autotask for unit tests: a zone directory plus per-route handlers on MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from agent.autotask import ApiCredentials, AutotaskClient, ClientOptions, Zone

DIRECTORY = "https://directory.test/ATServicesRest/"
ZONE_URL = "https://zone5.test/ATServicesRest/"
API = ZONE_URL + "V1.0/"
SECRET = "s3cr3t-VALUE-9f2"
CODE = "INTEGRATION-CODE-77Q"
CREDENTIALS = ApiCredentials("tech@example.test", SECRET, CODE)

Handler = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)


class MockApi:
    """Routes: `routes[(method, path)]` answers; every request is recorded in `requests`."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []
        self.zone_url = ZONE_URL
        self.zone_name, self.web_url = "Zone 5", "w"
        self.zone_lookups = 0

    def on(self, method: str, path: str, handler: Handler | httpx.Response) -> None:
        if isinstance(handler, httpx.Response):
            response = handler
            self.routes[(method, path)] = lambda _request: response
        else:
            self.routes[(method, path)] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url.startswith(DIRECTORY + "V1.0/ZoneInformation"):
            self.zone_lookups += 1
            return json_response(
                200,
                {"zoneName": self.zone_name, "url": self.zone_url, "webUrl": self.web_url, "ci": 5},
            )
        path = request.url.path
        for prefix in ("/ATServicesRest/V1.0/",):
            if path.startswith(prefix):
                path = path[len(prefix) :]
        handler = self.routes.get((request.method, path))
        if handler is None:
            return json_response(404, {"errors": [f"no route {request.method} {path}"]})
        return handler(request)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if "ZoneInformation" not in str(r.url)]


def make_client(
    api: Handler, *, zone: Zone | None = None, deadline: float | None = None, **kwargs: Any
) -> tuple[httpx.AsyncClient, AutotaskClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(api))
    options = ClientOptions(directory_url=DIRECTORY, deadline=deadline, **kwargs)
    return http, AutotaskClient(http, CREDENTIALS, options=options, zone=zone)
