"""Fault injection: deterministic (seeded) errors, latency, resets, hangs, lost responses and more.

Each rule names the kind of fault, the routes it hits (a glob on the lower-case path below
`/V1.0/`, e.g. `tickets/*`), optionally a verb, a firing rate and a maximum count. Kinds:

- `error`: answer `status` (500/502/503/504) with `{"errors": [...]}` instead of the operation.
- `latency`: wait before answering (fixed, uniform or exponential seconds, on the injected clock),
  then apply the operation. Over a real socket this is a late apply: a client whose deadline
  passes meanwhile gives up, and the server (uvicorn does not interrupt the request) still
  applies the write afterwards. In process the client's deadline cancels the request with it.
- `reset`: close the connection without an answer. On a real socket the server closes the TCP
  connection and httpx raises `httpx.RemoteProtocolError` ("Server disconnected without sending a
  response."); in-process (httpx.ASGITransport) the app raises that same exception, which the
  transport passes through to the caller.
- `hang`: hold the request until `release_hangs()` or until the client goes away, then answer
  normally (a client timeout, or a gate for tests that need requests in flight).
- `drop`: apply the operation (a write lands), then reset the connection instead of answering.
- `malformed`: answer 200 with a truncated JSON body.
- `huge`: answer the normal body padded to `size` bytes.
- `read_lag`: records created less than `seconds` ago answer 404 by id and are missing from
  queries.
Zone migration and credential rotation act on the tenant directly.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import secrets as token_source
from dataclasses import asdict, dataclass
from typing import Any

from agent.simulator.auth import Directory
from agent.simulator.tenant import Tenant

KINDS = ("error", "latency", "reset", "hang", "drop", "malformed", "huge", "read_lag")
ERROR_STATUSES = (429, 500, 502, 503, 504)


@dataclass(slots=True)
class FaultRule:
    """One injected fault; `remaining` None means unlimited."""

    kind: str
    route: str = "*"
    verb: str | None = None
    rate: float = 1.0
    remaining: int | None = None
    status: int = 500
    seconds: float = 0.0
    max_seconds: float | None = None
    distribution: str = "fixed"
    size: int = 5_000_000
    message: str = "The server encountered an error processing the request."
    fired: int = 0
    rule_id: int = 0

    def matches(self, key: str, verb: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.verb is not None and self.verb.upper() != verb:
            return False
        return fnmatch.fnmatchcase(key, self.route.lower())


class Faults:
    """The fault-injection API of one simulator (also driven by `/_sim/faults`)."""

    def __init__(self, seed: str, directory: Directory) -> None:
        self.rng = random.Random(f"{seed}:faults")
        self.directory = directory
        self.rules: list[FaultRule] = []
        self._next_id = 1
        self._release = asyncio.Event()

    # -- adding rules ------------------------------------------------------------------------
    def add(self, rule: FaultRule) -> FaultRule:
        if rule.kind not in KINDS:
            raise ValueError(f"unknown fault kind {rule.kind!r}")
        if rule.kind == "error" and rule.status not in ERROR_STATUSES:
            raise ValueError(f"error faults answer one of {ERROR_STATUSES}")
        if not 0.0 <= rule.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        rule.rule_id = self._next_id
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def error(
        self,
        status: int = 500,
        route: str = "*",
        verb: str | None = None,
        rate: float = 1.0,
        count: int | None = None,
        message: str | None = None,
    ) -> FaultRule:
        rule = FaultRule("error", route, verb, rate, count, status=status)
        if message is not None:
            rule.message = message
        return self.add(rule)

    def latency(
        self,
        seconds: float,
        route: str = "*",
        verb: str | None = None,
        rate: float = 1.0,
        count: int | None = None,
        max_seconds: float | None = None,
        distribution: str = "fixed",
    ) -> FaultRule:
        """Delay answers: `fixed` seconds, `uniform` in [seconds, max_seconds], `exponential`
        with mean `seconds` (capped at `max_seconds` when given)."""
        if distribution not in ("fixed", "uniform", "exponential"):
            raise ValueError("distribution is fixed, uniform or exponential")
        return self.add(
            FaultRule(
                "latency",
                route,
                verb,
                rate,
                count,
                seconds=seconds,
                max_seconds=max_seconds,
                distribution=distribution,
            )
        )

    def reset(
        self, route: str = "*", verb: str | None = None, rate: float = 1.0, count: int | None = None
    ) -> FaultRule:
        return self.add(FaultRule("reset", route, verb, rate, count))

    def hang(
        self, route: str = "*", verb: str | None = None, rate: float = 1.0, count: int | None = None
    ) -> FaultRule:
        return self.add(FaultRule("hang", route, verb, rate, count))

    def drop_response(
        self, route: str = "*", verb: str | None = None, rate: float = 1.0, count: int | None = None
    ) -> FaultRule:
        return self.add(FaultRule("drop", route, verb, rate, count))

    def malformed_json(
        self, route: str = "*", verb: str | None = None, rate: float = 1.0, count: int | None = None
    ) -> FaultRule:
        return self.add(FaultRule("malformed", route, verb, rate, count))

    def huge_response(
        self,
        size: int = 5_000_000,
        route: str = "*",
        verb: str | None = None,
        rate: float = 1.0,
        count: int | None = None,
    ) -> FaultRule:
        return self.add(FaultRule("huge", route, verb, rate, count, size=size))

    def throttle(
        self,
        retry_after: float = 1.0,
        route: str = "*",
        rate: float = 1.0,
        count: int | None = None,
    ) -> FaultRule:
        """Answer 429 for the hourly quota, with `Retry-After` (as if the tenant were over it)."""
        rule = FaultRule("error", route, None, rate, count, status=429, seconds=retry_after)
        rule.message = "The request threshold for this database has been exceeded."
        return self.add(rule)

    def thread_limit(
        self, route: str = "*", rate: float = 1.0, count: int | None = None
    ) -> FaultRule:
        """Answer 429 "Thread Threshold Exceeded" (as if a fourth concurrent call came in)."""
        rule = FaultRule("error", route, None, rate, count, status=429)
        rule.message = "Thread Threshold Exceeded"
        return self.add(rule)

    def read_lag(self, seconds: float, route: str = "*") -> FaultRule:
        """New records of entities matching `route` (e.g. `tickets*`) stay invisible a while."""
        return self.add(FaultRule("read_lag", route, seconds=seconds))

    def remove(self, rule: FaultRule) -> None:
        self.rules = [r for r in self.rules if r.rule_id != rule.rule_id]

    def clear(self) -> None:
        self.rules.clear()
        self.release_hangs()

    def describe(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rules]

    # -- tenant-level faults -----------------------------------------------------------------
    def migrate_zone(self, new_zone: int, tenant: Tenant | None = None) -> None:
        """Move the tenant to another zone; its old zone then answers 'not hosted in this zone'."""
        (tenant or self.directory.default).zone = new_zone

    def rotate_secret(self, username: str | None = None, new_secret: str | None = None) -> str:
        """Give an API user a new secret (the old one then gets 401) and return it."""
        tenant = self.directory.default
        if username is not None:
            found = self.directory.find_user(username)
            if found is None:
                raise KeyError("no such API user")
            tenant = found[0]
        user = tenant.user(username) if username else next(iter(tenant.users.values()))
        assert user is not None
        user.secret = new_secret or token_source.token_urlsafe(18)
        return user.secret

    # -- firing ------------------------------------------------------------------------------
    def fire(self, kinds: tuple[str, ...], key: str, verb: str) -> list[FaultRule]:
        """The rules of `kinds` that fire for this request, in the order they were added."""
        fired = []
        for rule in self.rules:
            if (
                rule.kind in kinds
                and rule.matches(key, verb)
                and (rule.rate >= 1.0 or self.rng.random() < rule.rate)
            ):
                if rule.remaining is not None:
                    rule.remaining -= 1
                rule.fired += 1
                fired.append(rule)
        return fired

    def delay_of(self, rule: FaultRule) -> float:
        if rule.distribution == "uniform":
            return self.rng.uniform(rule.seconds, rule.max_seconds or rule.seconds)
        if rule.distribution == "exponential":
            value = self.rng.expovariate(1.0 / rule.seconds) if rule.seconds > 0 else 0.0
            return min(value, rule.max_seconds) if rule.max_seconds is not None else value
        return rule.seconds

    def lag_for(self, entity_key: str) -> float:
        lags = [r.seconds for r in self.rules if r.kind == "read_lag" and r.matches(entity_key, "")]
        return max(lags, default=0.0)

    def release_signal(self) -> asyncio.Event:
        """The event the requests held now wait for (taken before waiting, so a release that
        comes before the wait starts is not missed)."""
        return self._release

    def release_hangs(self) -> None:
        """Let every held request go on (and start holding new ones afresh)."""
        self._release.set()
        self._release = asyncio.Event()
