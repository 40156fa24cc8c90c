"""Graceful degradation: which mode the agent runs in, and what work each mode sheds.

    NORMAL    everything runs
    CONSERVE  background refresh paused: quota use past 50 % or a breaker half-open/open
    CRITICAL  only technician writes, at a capped rate: quota past 90 %, throttled, or most
              endpoint breakers open
    OFFLINE   nothing is sent; writes stay queued

Leaving CONSERVE or CRITICAL because of quota needs usage `hysteresis` below the entry level, so
the mode does not flap on every threshold reading. Shedding only ever drops or postpones
background work: a technician's write is postponed (it stays in the outbox), never dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from agent.clock import SYSTEM_CLOCK, Clock
from agent.resilience.breaker import BreakerState
from agent.resilience.bulkhead import Kind
from agent.resilience.events import EventHub, ModeChanged
from agent.resilience.quota import TokenBucket


class Mode(enum.StrEnum):
    NORMAL = "normal"
    CONSERVE = "conserve"
    CRITICAL = "critical"
    OFFLINE = "offline"


class Cause(enum.StrEnum):
    """What put the agent in its mode, so refused calls can say why."""

    NONE = "none"
    QUOTA = "quota"
    BREAKERS = "breakers"
    CONNECTIVITY = "connectivity"


_RANK = {Mode.NORMAL: 0, Mode.CONSERVE: 1, Mode.CRITICAL: 2, Mode.OFFLINE: 3}


@dataclass(frozen=True)
class ModeSettings:
    conserve_quota: float = 0.5
    critical_quota: float = 0.9
    hysteresis: float = 0.05
    critical_open_share: float = 0.5
    critical_write_rate: float = 0.5
    critical_write_burst: float = 2.0


class ModeController:
    """Computes the mode from quota share, breaker states and connectivity; emits changes."""

    def __init__(self, settings: ModeSettings | None = None, hub: EventHub | None = None) -> None:
        self.settings = settings or ModeSettings()
        self.hub = hub or EventHub()
        self.mode = Mode.NORMAL
        self.reason = "all clear"
        self.cause = Cause.NONE

    def update(
        self,
        *,
        quota_share: float,
        breaker_states: Iterable[BreakerState],
        online: bool,
        throttled: bool = False,
    ) -> Mode:
        mode, reason, cause = self._decide(quota_share, list(breaker_states), online, throttled)
        self.cause = cause
        if mode is not self.mode:
            old, self.mode, self.reason = self.mode, mode, reason
            self.hub.publish(ModeChanged(str(old), str(mode), reason))
        else:
            self.reason = reason
        return mode

    def _decide(
        self, quota: float, states: list[BreakerState], online: bool, throttled: bool
    ) -> tuple[Mode, str, Cause]:
        s = self.settings
        if not online:
            return Mode.OFFLINE, "no connection to Autotask", Cause.CONNECTIVITY
        # Entering needs the threshold; staying needs only the threshold minus hysteresis.
        slack = s.hysteresis
        critical_at = s.critical_quota - (slack if self.mode is Mode.CRITICAL else 0.0)
        conserve_at = s.conserve_quota - (slack if _RANK[self.mode] >= 1 else 0.0)
        blocked = sum(1 for st in states if st in (BreakerState.OPEN, BreakerState.ISOLATED))
        if quota >= critical_at:
            return Mode.CRITICAL, f"quota use at {quota:.0%}", Cause.QUOTA
        if throttled:
            return Mode.CRITICAL, "Autotask is throttling requests", Cause.QUOTA
        if states and blocked / len(states) >= s.critical_open_share and blocked > 1:
            return Mode.CRITICAL, f"{blocked} of {len(states)} circuits open", Cause.BREAKERS
        if quota >= conserve_at:
            return Mode.CONSERVE, f"quota use at {quota:.0%}", Cause.QUOTA
        if any(st is not BreakerState.CLOSED for st in states):
            return Mode.CONSERVE, "a circuit is open or probing", Cause.BREAKERS
        return Mode.NORMAL, "all clear", Cause.NONE


class Shed(enum.Enum):
    ADMIT = "admit"
    POSTPONE = "postpone"
    DROP = "drop"


@dataclass(frozen=True)
class ShedDecision:
    verdict: Shed
    retry_in: float = 0.0
    reason: str = ""


class LoadShedder:
    """What a mode does to one call of a given kind."""

    def __init__(self, settings: ModeSettings | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings or ModeSettings()
        self._critical_writes = TokenBucket(clock, self.settings.critical_write_burst)

    def decide(self, kind: Kind, mode: Mode) -> ShedDecision:
        if mode is Mode.NORMAL:
            return ShedDecision(Shed.ADMIT)
        if mode is Mode.OFFLINE:
            if kind is Kind.WRITE:
                return ShedDecision(Shed.POSTPONE, 1.0, "offline: kept in the queue")
            return ShedDecision(Shed.DROP, 0.0, "offline")
        if kind is Kind.WRITE:
            if mode is Mode.CRITICAL:
                s = self.settings
                wait = self._critical_writes.take_now(
                    1.0, s.critical_write_rate, s.critical_write_burst
                )
                if wait > 0:
                    return ShedDecision(Shed.POSTPONE, wait, "critical: writes rate-capped")
            return ShedDecision(Shed.ADMIT)
        if mode is Mode.CRITICAL:
            return ShedDecision(Shed.DROP, 0.0, "critical: background work dropped")
        # CONSERVE: metadata is small and keeps validation working; refresh waits.
        if kind is Kind.METADATA:
            return ShedDecision(Shed.ADMIT)
        return ShedDecision(Shed.POSTPONE, 30.0, "conserve: background refresh paused")
