"""How many agents of the tenant are spending its budget now, seen from ThresholdInformation alone.

Without a shared store the only thing agents of one tenant have in common is the tenant's request
count in its rolling window. Between two readings it grows by every request sent and falls by every
request leaving the window; those leaving were sent a window earlier, and the readings then said
how many came (`_arrivals`: the requests sent between earlier readings, prorated evenly within
each interval; the count at the first reading spread evenly over the window before it). So the
requests sent between two readings are the growth plus those that left. When this agent sent `own`
of them and the others the rest, about `1 + others / own` agents as busy as this one were at work
(the others' average pace over the window is taken off first: integrations that send as much in
every minute are no crowd bursting now; the rest counts when at least a quarter as busy as this
agent, which errs on the careful side). A sample needs a few own requests sent at a burst's pace
(`MIN_RATE`): a few calls over a long interval say nothing but how busy the others were all along.

What the samples showed is then held (`_held`), not forgotten with them: agents whose bursts no
longer meet this one's (a crowd drifting out of step, each refilling as its own requests leave the
window) are as many as before as long as the tenant's count leaves room for them. The estimate
falls only when the count shows fewer: n agents as busy as this one, with `own` requests in the
window, make a count of at least `n * own`. Without the held estimate, an office whose first bursts
leave the window together sees its count stand still, and every agent takes the whole share. Where
the policy gives `fleet_size`, nothing is held beyond it (the samples of agents pacing slowly
wander, and a held maximum of them only ever climbs).

Agents that never burst together cannot be told from the tenant's other integrations this way;
the administrator's `fleet_size` (the number assumed at least, before any reading) or a shared
Redis budget is what keeps such a fleet within its share.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

MAX_AGENTS = 1000


@dataclass(frozen=True)
class Reading:
    at: float
    tenant: int  # the tenant's count in its window
    own_sent: int  # this agent's requests sent so far (a running total)


class ActiveAgents:
    """The estimate `count()`: the policy's `fleet_size` or the recent samples, the larger; with
    no fleet size, the agents held from the samples."""

    MIN_RATE = 0.2  # own requests a second between two readings, for a sample

    def __init__(
        self,
        fleet_size: int = 1,
        memory: float = 3600.0,
        min_own: int = 6,
        up_to: float = 0.5,
    ) -> None:
        self.fleet_size = max(1, fleet_size)
        self.up_to = up_to  # samples are taken while the tenant is below this part of its limit
        self.memory = memory  # the tenant's window: how long a sample and an arrival matter
        self.min_own = min_own
        self._last: Reading | None = None
        self._samples: deque[tuple[float, int]] = deque()  # (when, agents), oldest first
        # The tenant's requests sent between readings: (from, to, how many), oldest first.
        self._arrivals: deque[tuple[float, float, float]] = deque()
        self._held = 1

    def observe(
        self, at: float, tenant: int, own_sent: int, threshold: int = 0, own_held: int = 0
    ) -> None:
        """A reading answered at `at`: the tenant's count then, and how many requests this agent
        had sent by then in all (the reading itself included). Past `up_to` of the threshold
        every agent's calls are spaced out by the latency tiers, and a jump there is far more
        likely another integration's batch than a crowd of agents: no sample is taken (the
        arrivals are still kept, for the readings after it)."""
        window = self.memory
        # The others' average pace over the window: what steady integrations send anyway.
        steady = max(0, tenant - own_held) / window if window > 0 else 0.0
        self._observe(at, tenant, own_sent, threshold, window, steady)
        # What the samples show is held while the window's count allows it: as many agents as
        # this one (`own_held` requests of it in the window) cannot hold fewer than the others'
        # requests make up. Agents whose bursts no longer meet this one's (a crowd drifting out
        # of step) stay counted so, while the count says their requests are still there.
        level = self._held
        if own_held >= self.min_own:
            level = _crowd(tenant - own_held, own_held)
        self._held = max(self.observed(at), min(self._held, level))

    def _observe(
        self, at: float, tenant: int, own_sent: int, threshold: int, window: float, steady: float
    ) -> None:
        last, self._last = self._last, Reading(at, tenant, own_sent)
        if last is None or at < last.at:
            self._arrivals.clear()
            self._arrivals.append((at - window, at, float(tenant)))
            return
        left = self._arrived(last.at - window, at - window)
        sent = max(0.0, tenant - last.tenant + left)
        self._arrivals.append((last.at, at, sent))
        while self._arrivals and self._arrivals[0][1] <= at - window:
            self._arrivals.popleft()
        own = own_sent - last.own_sent
        if own < self.min_own or (threshold and tenant >= self.up_to * threshold):
            return
        if own < self.MIN_RATE * (at - last.at):
            return
        # An agent counts when it was at least a quarter as busy as this one: the tenant's other
        # integrations trickling beside a burst are not a crowd (nor is rounding in the prorating).
        # Beyond the others' average pace over the window: a crowd bursting now, not the
        # integrations that send as much in every minute of the window.
        others = sent - own - steady * (at - last.at)
        agents = _crowd(others, own)
        self._samples.append((at, min(MAX_AGENTS, agents)))

    def _arrived(self, start: float, end: float) -> float:
        """Requests sent in (start, end], prorated evenly within each interval between readings."""
        total = 0.0
        for begin, finish, count in self._arrivals:
            if finish <= begin:  # two readings at one moment: all at that moment
                total += count if start < finish <= end else 0.0
                continue
            overlap = min(end, finish) - max(start, begin)
            if overlap > 0:
                total += count * overlap / (finish - begin)
        return total

    def observed(self, now: float) -> int:
        samples = self._samples
        while samples and samples[0][0] <= now - self.memory:
            samples.popleft()
        return max((n for _, n in samples), default=1)

    def seen(self, now: float) -> bool:
        """True while a sample from within `memory` says how busy the tenant is."""
        self.observed(now)
        return bool(self._samples)

    def count(self, now: float) -> int:
        if self.fleet_size > 1:
            # The policy says how many agents there are (a held maximum of slow agents'
            # samples climbed: ten counted themselves twenty and drained at half the pace).
            return max(self.fleet_size, self.observed(now))
        return max(self.observed(now), self._held)


def _crowd(others: float, own: float) -> int:
    """Agents as busy as this one (`own` requests) that `others` requests make, this one included:
    another counts from a quarter of this one's requests."""
    return 1 + math.ceil(max(0.0, others / own - 0.25))
