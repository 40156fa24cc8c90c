"""Data in transit: only https (loopback excepted), pages only from the zone that was asked, and
certificate failures told in plain words.

There is deliberately no setting that turns certificate checks off: every httpx client the agent
makes keeps httpx's default `verify=True` (a test scans the code for anything that weakens it).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Collection, Iterator
from urllib.parse import urlsplit, urlunsplit

from agent.security.errors import InsecureUrlError

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def shown_url(url: str) -> str:
    """The URL without user name, password, query or fragment: safe to show and log."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(an unreadable address)"


def require_secure_url(
    url: str, *, what: str = "The Autotask address", allow_hosts: Collection[str] = ()
) -> str:
    """Return `url` if it is https with a host, or http(s) to this computer (the simulator);
    raise `InsecureUrlError` naming the problem otherwise. `allow_hosts` are names a caller
    reaches without a network (an in-process test transport), never configurable by a user."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InsecureUrlError(f"{what} is not a valid web address.") from None
    if parts.scheme not in ("https", "http") or not host:
        raise InsecureUrlError(f"{what} must be a full https:// address (got {shown_url(url)!r}).")
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


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [x for x in (e.__cause__, e.__context__) if x is not None]
        todo += [a for a in e.args if isinstance(a, BaseException)]


_REASONS: list[tuple[tuple[str, ...], str]] = [
    (
        ("self-signed", "self signed"),
        "presented a certificate it signed itself, which no trusted authority vouches for",
    ),
    (
        ("certificate has expired", "expired"),
        "presented a certificate that has expired (or this computer's date and time are wrong)",
    ),
    (
        ("not yet valid",),
        "presented a certificate that is not valid yet (check this computer's date and time)",
    ),
    (
        ("hostname mismatch", "ip address mismatch", "doesn't match", "not valid for"),
        "presented a certificate issued for a different name",
    ),
    (
        ("unable to get local issuer", "unknown ca", "unable to get issuer"),
        "presented a certificate from an authority this computer does not trust",
    ),
    (("revoked",), "presented a certificate its authority has revoked"),
]


def certificate_problem(exc: BaseException, host: str | None = None) -> str | None:
    """A plain explanation when `exc` (an httpx.ConnectError, ssl error, or anything wrapping
    one) is a failed certificate check; None when it is some other failure."""
    texts: list[str] = []
    found = False
    for e in _chain(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            found = True
            # The attributes exist only when OpenSSL raised it, not when it was built by hand.
            detail = getattr(e, "verify_message", None) or getattr(e, "reason", None) or ""
            texts.append(f"{detail} {e}")
        else:
            texts.append(str(e))
    text = " ".join(texts).lower()
    if not found and "certificate verify failed" not in text:
        return None
    where = f"The server at {host}" if host else "The server"
    reason = next(
        (r for markers, r in _REASONS if any(m in text for m in markers)),
        "presented a certificate that could not be verified",
    )
    return (
        f"{where} {reason}, so Field Sync did not connect: your credentials and tickets were "
        "not sent. This happens when something between you and Autotask intercepts secure "
        "connections (a hotel or company network, a proxy, or an attacker). Try another "
        "network; if it happens everywhere, ask your IT team. Certificate checks cannot be "
        "turned off."
    )
