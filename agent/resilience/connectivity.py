"""Whether Autotask is reachable: passive from call outcomes, active probing while offline.

Going offline is decided from real calls (`failures_to_offline` network failures in a row). While
offline a cheap probe (a TCP connect to the zone host, no quota cost) runs with backoff from
`first_interval` up to `max_interval`; the cap is kept under a second so a returning network is
noticed within one second even without a hint. `network_changed()` (the OS said an interface
came or went) wakes the prober at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from agent.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[bool]]


async def tcp_probe(host: str, port: int, limit: float = 2.0) -> bool:
    """True when a TCP connection to host:port opens; used as the connectivity probe."""
    try:
        # Not `asyncio.wait_for`: on Python 3.11 it returns the result, and drops the
        # cancellation, when both arrive together, so a prober being stopped went on probing.
        async with asyncio.timeout(limit):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class Connectivity:
    """Online/offline state with an active prober; listeners hear every change."""

    def __init__(
        self,
        probe: Probe,
        clock: Clock = SYSTEM_CLOCK,
        failures_to_offline: int = 2,
        first_interval: float = 0.05,
        max_interval: float = 0.5,
    ) -> None:
        self._probe = probe
        self._clock = clock
        self.failures_to_offline = failures_to_offline
        self.first_interval = first_interval
        self.max_interval = max_interval
        self.online = True
        # Why calls fail when the network is up but the server's certificate is not trusted (an
        # intercepting network): cleared only by a call that got through, never by a probe.
        self.untrusted_certificate: str | None = None
        self.probes = 0
        self.changed_at = clock.monotonic()
        self._failures = 0
        self._wake = asyncio.Event()
        self._offline = asyncio.Event()
        self._stopped = False
        self._online_event = asyncio.Event()
        self._online_event.set()
        self._listeners: list[Callable[[bool], None]] = []

    def subscribe(self, listener: Callable[[bool], None]) -> None:
        self._listeners.append(listener)

    def report_success(self) -> None:
        """A call got an answer (so a trusted connection was made)."""
        self.untrusted_certificate = None
        self._reachable()

    def _reachable(self) -> None:
        self._failures = 0
        self._set(True)

    def report_network_failure(self, untrusted_certificate: str | None = None) -> None:
        """A call could not get through; `untrusted_certificate` says why, when that was it."""
        if untrusted_certificate is not None:
            self.untrusted_certificate = untrusted_certificate
        self._failures += 1
        if self._failures >= self.failures_to_offline:
            self._set(False)

    def mark_offline(self) -> None:
        """Another signal (the zone circuit opened on connect failures) says nothing gets out."""
        self._failures = max(self._failures, self.failures_to_offline)
        self._set(False)

    def network_changed(self) -> None:
        """A hint that the network may be back (or gone): probe now instead of after the backoff."""
        self._wake.set()

    async def wait_online(self) -> None:
        await self._online_event.wait()

    async def probe_now(self) -> bool:
        self.probes += 1
        try:
            ok = await self._probe()
        except Exception as error:  # a probe that crashes says "not reachable"
            log.debug("probe failed: %s", error)
            ok = False
        if ok:  # the host answers; whether its certificate is trusted only a call can tell
            self._reachable()
        return ok

    async def run(self) -> None:
        """Probe while offline, until `stop`; run it as a task, and on shutdown `stop` it and
        cancel it (the flag ends it even when a probe let the cancellation pass)."""
        while not self._stopped:
            await self._offline.wait()
            interval = self.first_interval
            while not self.online and not self._stopped:
                if await self.probe_now():
                    break
                await self._pause(interval)
                interval = min(self.max_interval, interval * 2)

    def stop(self) -> None:
        """End `run` at its next step (for good)."""
        self._stopped = True
        self._offline.set()  # a prober waiting to go offline wakes, and sees it must end
        self._wake.set()

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _set(self, online: bool) -> None:
        if online == self.online:
            return
        self.online = online
        self.changed_at = self._clock.monotonic()
        if online:
            self._offline.clear()
            self._online_event.set()
        else:
            self._online_event.clear()
            self._offline.set()
        for listener in list(self._listeners):
            try:
                listener(online)
            except Exception:
                log.exception("connectivity listener failed")
