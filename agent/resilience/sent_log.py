"""This agent's own requests in the tenant's window, kept across a restart.

The pacer knows its own requests only from memory. After a restart (a crash, an update, a
reboot) the requests it sent before are still in the tenant's rolling window, but a fresh pacer
would read them as another integration's and spend its share again on top of them. So the send
times go to a small file beside the profile's database at every threshold reading (at least every
20 calls while calls go out; written in a worker thread, one write at a time, the latest times
each time) and when the link closes, as whole
seconds of the wall clock and a count for each, and a new pacer starts with those of the last
window.

Written by hand: it is a list of numbers in a private file (written under a temporary name and
moved over the old one), and a file that cannot be read or written costs only this memory (it is
logged, and pacing goes on as if nothing had been sent before). Only a plain file of at most
`MAX_BYTES` is read (not a link, not a pipe), and at most `MAX_REQUESTS` send times are taken
from it. The file also says which wall time was which monotonic time when it was written: on the
same computer since (its monotonic clock has not started again), a wall clock corrected in between
either way is corrected in the record too (a computer restarted since that has been up longer
than it had been at the save passes for the same: its requests then count as newer than they
are, the careful side). After a restart of the computer only the wall clock is
there; one set back since puts requests in the future: the newest is counted as sent now and the
others as long before it as they were (the careful side: they stay a whole window).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import stat
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from agent.clock import Clock
from agent.security.permissions import private_text_file

log = logging.getLogger(__name__)

MAX_SECONDS = 100_000  # entries read at most: a day of one-second buckets and more
MAX_BYTES = 4_000_000  # a file larger than that many entries make is no record of ours
MAX_REQUESTS = 100_000  # send times taken at most: ten times Autotask's default hourly threshold


class SentLog:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._saved: tuple[float, int] | None = None  # (last send, how many) at the last save
        self._writing = threading.Lock()  # one write at a time: they share the temporary name
        self._failing = False  # the last write failed (and was said)

    def load(self, window: float) -> list[float]:
        """Monotonic send times of the requests of the last `window` seconds, oldest first."""
        try:
            raw = json.loads(self._read_bounded())
            sent = raw["sent"] if isinstance(raw, dict) else None
            if not isinstance(sent, list):
                raise ValueError("no list of sent requests")
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            log.warning("the record of this agent's recent requests could not be read: %s", exc)
            return []
        entries = [entry for entry in sent[:MAX_SECONDS] if _pair(entry)]
        wall, mono = self._clock.now().timestamp(), self._clock.monotonic()
        saved_at = raw.get("at")
        if _pair(saved_at) and mono >= saved_at[1]:
            # The same computer since (its monotonic clock has not started again): a wall clock
            # corrected in between, either way, is corrected in the record too.
            shift = (wall - mono) - (saved_at[0] - saved_at[1])
            entries = [[second + shift, count] for second, count in entries]
        # A clock set back since: the newest is taken as sent now, the others as long before it.
        wall = max([wall, *(second for second, _ in entries)])
        times: list[float] = []
        for second, count in reversed(entries):  # the newest first, should the cap cut
            age = wall - second
            if age >= window or count <= 0:
                continue
            times.extend([mono - age] * min(int(count), MAX_REQUESTS - len(times)))
            if len(times) >= MAX_REQUESTS:
                break
        times.sort()
        return times

    def _read_bounded(self) -> str:
        """The file's text, if it is a plain file (not a link) of at most `MAX_BYTES`."""
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
        flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # no link, no pipe
        fd = os.open(self.path, flags)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ValueError("not a plain file")
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        return data.decode("utf-8")

    def save(self, times: Iterable[float]) -> None:
        """Write the requests sent at `times` (monotonic, oldest first); nothing when unchanged."""
        encoded = self._encode(list(times))
        if encoded is not None:
            with self._writing:
                self._write(*encoded)

    async def save_async(self, times: Iterable[float]) -> None:
        """`save` with the file written in a worker thread, off the event loop."""
        encoded = self._encode(list(times))
        if encoded is not None:
            await asyncio.to_thread(self._write_locked, *encoded)

    def _encode(self, times: list[float]) -> tuple[str, tuple[float, int]] | None:
        """The file's text for `times` and the state it saves; None when already saved."""
        state = (times[-1] if times else 0.0, len(times))
        if state == self._saved:
            return None
        wall, mono = self._clock.now().timestamp(), self._clock.monotonic()
        seconds = Counter(math.floor(wall - (mono - t)) for t in times)
        body = {
            "sent": sorted([second, count] for second, count in seconds.items()),
            "at": [wall, mono],  # which wall time was which monotonic time at the save
        }
        return json.dumps(body, separators=(",", ":")), state

    def _write_locked(self, text: str, state: tuple[float, int]) -> None:
        with self._writing:
            self._write(text, state)

    def _write(self, text: str, state: tuple[float, int]) -> None:
        try:
            with private_text_file(self.path) as fh:
                fh.write(text)
        except OSError as exc:
            if not self._failing:  # said once, not after every request, until a write succeeds
                self._failing = True
                log.warning(
                    "the record of this agent's recent requests could not be written: %s", exc
                )
            return
        if self._failing:
            self._failing = False
            log.info("the record of this agent's recent requests is written again")
        self._saved = state


def _pair(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in entry)
        and all(math.isfinite(v) for v in entry)
    )
