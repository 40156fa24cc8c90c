"""The fleet's link for one agent: a `FleetLink` to the office's Redis when a `redis_url` is set.

The link shares the tenant's request budget (one token bucket) and the breaker states per zone
and endpoint between every agent of the tenant. Its keys are named after a digest of the
directory and the API user, never after anything a ticket holds: what goes to Redis is a token
count, a time stamp and, per open breaker, the zone's name, the endpoint's name (an entity type
such as `Tickets`), when it closes and a random id of the agent.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from agent.clock import Clock
from agent.config.redis_url import redis_url_problem
from agent.resilience.fleet import FleetLink

log = logging.getLogger(__name__)

PREFIX = "fieldsync"


def fleet_prefix(directory_url: str, api_user: str) -> str:
    """Keys of one tenant's fleet: agents signing in as the same API user through the same
    directory share them, however the directory's address is spelled (its case, a default port,
    a final slash); the name says nothing about who or where."""
    directory = same_directory(directory_url)
    digest = hashlib.sha256(f"{directory}\x1f{api_user.strip().lower()}".encode()).hexdigest()
    return f"{PREFIX}:{digest[:24]}"


def same_directory(url: str) -> str:
    """One spelling of a directory's address: lower case, no default port, no final slash (nor
    a final dot of the host name), the path's `.` and `..` resolved and its escapes decoded."""
    parts = urlsplit(url.strip().lower())
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return url.strip().lower()
    host = (parts.hostname or "").rstrip(".")
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, default) else f"{host}:{port}"
    path = posixpath.normpath(re.sub("/+", "/", unquote(parts.path)).lower()) if parts.path else ""
    path = "" if path in (".", "/") else path.rstrip("/")
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def open_fleet(
    url: str | None, directory_url: str, api_user: str, clock: Clock, fleet_size: int
) -> FleetLink | None:
    """A link to `url` (with its password from the keyring), or None when no Redis is set.
    The URL is checked again here: a value edited into the database directly must not send
    the password in clear to another computer."""
    if not url:
        return None
    problem = redis_url_problem(url)
    if problem is not None:
        log.warning("the fleet's Redis is not used: %s", problem)
        return None
    link = FleetLink(
        url, fleet_prefix(directory_url, api_user), clock=clock, expected_agents=fleet_size
    )
    log.info("fleet mode: the request budget and breaker states are shared through Redis")
    return link
