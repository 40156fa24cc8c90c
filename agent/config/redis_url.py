"""The fleet's Redis address: checked wherever it is set (Settings, the command line, a policy),
and split so its password lives in the keyring while the settings table keeps the rest.

What is refused, and why:

- a scheme other than `redis://`, `rediss://` or `unix://`;
- plain `redis://` to any host but this computer (`localhost`, 127.0.0.0/8, ::1): off this
  computer the connection carries the password and the fleet's counters, so it must be TLS
  (`rediss://`); a `unix://` socket is on this computer by definition;
- query options other than a few harmless ones: redis-py reads options such as
  `ssl_cert_reqs=none` from the URL, which would quietly switch certificate checks off;
- a database path that is not a number, a fragment, a port that is not a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, urlsplit

from agent.security.trust import is_loopback

REDIS_SCHEMES = ("redis", "rediss", "unix")
# Options redis-py reads from the query string that change nothing about who is trusted.
SAFE_OPTIONS = frozenset(
    {"db", "socket_timeout", "socket_connect_timeout", "health_check_interval", "ssl_ca_certs"}
)


def redis_url_problem(url: str) -> str | None:
    """Why `url` is not a Redis address Field Sync may use, or None if it is (empty: none)."""
    if not url:
        return None
    if url != url.strip() or any(ch.isspace() for ch in url):
        return "The Redis URL must not contain spaces."
    try:
        parts = urlsplit(url)
        scheme = parts.scheme
        if scheme not in REDIS_SCHEMES:
            return (
                "The Redis URL must start with rediss://, redis:// (this computer only) or unix://."
            )
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "The Redis URL is not a valid address (check its host and port)."
    if scheme == "unix":
        if host or port is not None or not parts.path.startswith("/"):
            return "A unix:// Redis URL names a socket file, e.g. unix:///run/redis/redis.sock."
    else:
        if not host:
            return "The Redis URL needs a host, e.g. rediss://redis.office.example:6380/0."
        if port == 0:
            return "The Redis URL's port must be a number from 1 to 65535."
        if scheme == "redis" and not is_loopback(host):
            return (
                "A Redis server on another computer must be reached with rediss:// (TLS), so "
                "its password and the fleet's data are encrypted on the way; redis:// is "
                "accepted only for this computer (localhost, 127.0.0.1, ::1)."
            )
        if parts.path not in ("", "/") and not parts.path[1:].isdigit():
            return "The Redis URL's database must be a number, e.g. rediss://server:6380/0."
    if parts.fragment:
        return "The Redis URL must not have a #fragment."
    try:
        options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        return "The Redis URL's options (after ?) are not readable."
    unknown = sorted({name for name, _ in options} - SAFE_OPTIONS)
    if unknown:
        return (
            f"The Redis URL may not set {', '.join(unknown)}; the options it may carry are "
            f"{', '.join(sorted(SAFE_OPTIONS))} (certificate checks cannot be switched off)."
        )
    return None


@dataclass(frozen=True)
class RedisAddress:
    """A Redis URL taken apart: `url` without its password (what the settings table keeps) and
    the password (kept in the keyring), still percent-encoded as it was written."""

    url: str
    password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"RedisAddress(url={self.url!r}, password={'***' if self.password else None})"


def split_password(url: str) -> RedisAddress:
    """`url` (already checked) without its password, and the password apart."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return RedisAddress(url)
    userinfo, hostport = parts.netloc.rsplit("@", 1)
    user, colon, password = userinfo.partition(":")
    if not colon or not password:
        return RedisAddress(url)
    netloc = f"{user}@{hostport}" if user else hostport
    return RedisAddress(_join(parts, netloc), password)


def with_password(url: str, password: str | None) -> str:
    """The address to connect to: `url` (as the settings table keeps it) with `password` put
    back in its user part."""
    if not password:
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0] if at else ""
    netloc = f"{user}:{password}@{hostport}"
    return _join(parts, netloc)


def _join(parts: SplitResult, netloc: str) -> str:
    """`parts` with `netloc`, keeping `//` when it is empty (`unix:///path`), which
    `urlunsplit` would drop."""
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}{fragment}"
