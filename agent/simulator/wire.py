"""The request and answer shapes the ASGI layer hands to operations, and JSON encoding."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

JSON_TYPE = b"application/json; charset=utf-8"


@dataclass(slots=True)
class Request:
    """An HTTP request, read completely; header names are lower-cased."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    scheme: str = "http"

    @property
    def host(self) -> str:
        return self.headers.get("host", "127.0.0.1")

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}"

    def query(self) -> dict[str, str]:
        return {k.lower(): v for k, v in parse_qsl(self.query_string, keep_blank_values=True)}

    def json(self) -> Any:
        """The decoded body; raises ValueError when it is not JSON."""
        if not self.body.strip():
            raise ValueError("empty body")
        return json.loads(self.body)


@dataclass(slots=True)
class Reply:
    """An answer: status, a JSON-able payload (or raw bytes) and extra headers."""

    status: int
    payload: Any = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    raw: bytes | None = None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.payload, separators=(",", ":")).encode()


def errors(status: int, *messages: str) -> Reply:
    """The API's error envelope."""
    return Reply(status, {"errors": list(messages)})


def method_not_allowed(method: str, allowed: frozenset[str]) -> Reply:
    """ASP.NET Web API's 405 answer."""
    allow = ", ".join(sorted(allowed)).encode()
    return Reply(
        405,
        {"Message": f"The requested resource does not support http method '{method}'."},
        [(b"allow", allow)],
    )


def not_found(path: str) -> Reply:
    """ASP.NET Web API's answer for a URL no route matches."""
    return Reply(
        404, {"Message": f"No HTTP resource was found that matches the request URI '{path}'."}
    )
