"""Which hosts may receive the credentials, and why a TLS connection was refused.

Plain functions over the standard library only, so the Autotask client can use them without
importing the store (`transit` adds the errors and checks the rest of the agent raises).

A zone address is where the next request carries the user name, secret and integration code, and
it comes from the directory's answer: whoever can answer for the directory chooses it. So it must
be https (this computer excepted, for the simulator, when the directory is on this computer too),
have a plain host name (no user name, no percent-escapes or other characters a parser might read
another way), and, when Autotask's own directory (any host under `autotask.net`) named it, be a
host under `autotask.net` itself.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

LOOPBACK_NAMES = frozenset({"localhost"})
AUTOTASK_DOMAIN = "autotask.net"
# What a host (and port) of a zone address may be written with: ASCII letters, digits, dots,
# hyphens, and the brackets and colons of an IPv6 literal. Anything else (`@`, `\`, `%`, look-alike
# letters of other scripts) is refused rather than interpreted.
_PLAIN_NETLOC = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]*)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]*)?$")


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


def _domain(host: str) -> str:
    """The host as DNS compares it: lower case, without the root's trailing dot."""
    return host.lower()[:-1] if host.endswith(".") else host.lower()


def under_autotask(host: str | None) -> bool:
    """Whether `host` is `autotask.net` or a name under it (a label boundary, not a suffix:
    `evilautotask.net` and `autotask.net.evil.com` are not)."""
    if not host:
        return False
    name = _domain(host)
    return name == AUTOTASK_DOMAIN or name.endswith("." + AUTOTASK_DOMAIN)


def _host(url: str) -> str | None:
    try:
        return urlsplit(url.strip()).hostname
    except ValueError:
        return None


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), _domain(parts.hostname or ""), parts.port
    except ValueError:
        return None


def zone_url_problem(url: str, directory_url: str) -> str | None:
    """Why the credentials may not be sent to the zone `url` that `directory_url` answered, in
    words for a person; None when they may."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        # urlsplit drops tabs and newlines without a word; the address is refused as sent.
        return "it holds spaces or control characters, which a zone address never has"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "it is not a valid web address"
    if parts.scheme.lower() not in ("https", "http") or not host:
        return "it is not a full https:// address"
    if "@" in parts.netloc:
        return "it carries a user name, which a zone address never has"
    if not _PLAIN_NETLOC.match(parts.netloc):
        return "its host name has characters a real zone's never has"
    if parts.query or parts.fragment:
        return "it carries a query or fragment, which a zone address never has"
    if under_autotask(urlsplit(directory_url).hostname):
        if not under_autotask(host):
            return f"Autotask's directory names only hosts under {AUTOTASK_DOMAIN}"
        if parts.scheme.lower() != "https" or port not in (None, 443):
            return "Autotask's zones are reached by https on the standard port only"
        return None
    if parts.scheme.lower() == "https":
        return None
    if is_loopback(host):
        # Plain http on this computer is the simulator's, and only a directory on this computer
        # may name it: from a directory elsewhere, the credentials would go unencrypted to
        # whatever program listens on that port.
        if is_loopback(_host(directory_url)):
            return None
        return (
            "it is a plain http:// address on this computer, named by a directory elsewhere: "
            "your credentials would go unencrypted to whatever program listens there"
        )
    # Plain http off this computer only to the very host of a plain-http directory, which the
    # agent accepts only over an in-process test transport (it refuses one on a network).
    directory = _origin(directory_url)
    if directory is not None and directory[0] == "http" and directory == _origin(url):
        return None
    return (
        "it does not use https://, so your credentials would cross the network unencrypted "
        "(plain http:// is accepted only for this computer)"
    )


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
    where = f"the server at {host}" if host else "the server"
    reason = next(
        (r for markers, r in _REASONS if any(m in text for m in markers)),
        "presented a certificate that could not be verified",
    )
    return (
        f"The server's certificate is not trusted: {where} {reason}. Field Sync did not "
        "connect, so your credentials and tickets were not sent. This happens when something "
        "between you and Autotask intercepts secure connections (a hotel or company network, a "
        "proxy, or an attacker). Try another network; if it happens everywhere, ask your IT "
        "team. Certificate checks cannot be turned off."
    )
