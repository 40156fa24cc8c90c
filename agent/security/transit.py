"""Data in transit: only https (loopback excepted), pages only from the zone that was asked, and
certificate failures told in plain words.

There is deliberately no setting that turns certificate checks off: every httpx client the agent
makes keeps httpx's default `verify=True` (a test scans the code for anything that weakens it).
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from agent.security.errors import InsecureUrlError
from agent.security.trust import (
    LOOPBACK_NAMES,
    certificate_problem,
    is_loopback,
    shown_url,
    zone_url_problem,
)

__all__ = [
    "LOOPBACK_NAMES",
    "certificate_problem",
    "is_loopback",
    "require_same_origin",
    "require_secure_url",
    "shown_url",
    "zone_url_problem",
]


def require_secure_url(
    url: str, *, what: str = "The Autotask address", allow_hosts: Collection[str] = ()
) -> str:
    """Return `url` if it is https with a host, or http(s) to this computer (the simulator),
    without a user name or password; raise `InsecureUrlError` naming the problem otherwise.
    `allow_hosts` are names a caller reaches without a network (an in-process test transport),
    never configurable by a user."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InsecureUrlError(f"{what} is not a valid web address.") from None
    if parts.scheme not in ("https", "http") or not host:
        raise InsecureUrlError(f"{what} must be a full https:// address (got {shown_url(url)!r}).")
    if "@" in parts.netloc:
        # A password in an address would be kept in the settings and shown wherever they are
        # (listings, the policy check, diagnostics); Autotask's sign-in never goes in one.
        raise InsecureUrlError(
            f"{what} must not carry a user name or password (got {shown_url(url)!r} with "
            "one): Autotask's sign-in goes in the sign-in form, never in an address."
        )
    if parts.scheme == "https" or is_loopback(host) or host in allow_hosts:
        return url
    raise InsecureUrlError(
        f"{what} must use https:// so your credentials and tickets are encrypted on the way "
        f"(got {shown_url(url)!r}). Plain http:// is accepted only for this computer "
        "(localhost, 127.0.0.1, ::1)."
    )


def require_same_origin(url: str, base: str, *, what: str = "The next page address") -> str:
    """`url` must point at the same scheme, host and port as `base`: a next-page link is sent
    with the credentials, so it may not lead anywhere else."""
    a, b = urlsplit(url), urlsplit(base)
    if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
        raise InsecureUrlError(
            f"{what} leads to another server ({shown_url(url)!r}, not {shown_url(base)!r}); "
            "it was not followed."
        )
    return url
