"""How many agents of the tenant are spending its budget now, seen from ThresholdInformation alone.

Without a shared store the only thing agents of one tenant have in common is the tenant's request
count. Between two readings it grows by this agent's own requests plus everyone else's; when this
agent sent `own` requests and the others `others`, about `1 + others / own` agents as busy as this
one were at work (the tenant's other integrations count as agents too, which only makes the
estimate err on the careful side). A sample needs a few own requests to mean anything, and is
believed for `memory` seconds: the busiest recent sample wins, so a burst of the whole office is
remembered while the window still holds its requests.

`fleet_size`, when the administrator's policy gives it, is the number assumed until the readings
show more, and never less: each agent then plans for that many, before it has seen any of them.
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
    """The estimate `count()`: `fleet_size` or the busiest recent sample, whichever is larger."""

    def __init__(
        self, fleet_size: int = 1, memory: float = 600.0, min_own: int = 3, up_to: float = 0.5
    ) -> None:
        self.fleet_size = max(1, fleet_size)
        self.up_to = up_to  # samples are taken while the tenant is below this part of its limit
        self.memory = memory
        self.min_own = min_own
        self._last: Reading | None = None
        self._samples: deque[tuple[float, int]] = deque()  # (when, agents), oldest first

    def observe(self, at: float, tenant: int, own_sent: int, threshold: int = 0) -> None:
        """A reading answered at `at`: the tenant's count then, and how many requests this agent
        had sent by then in all (the reading itself included). Past `up_to` of the threshold
        every agent's calls are spaced out by the latency tiers, and a jump there is far more
        likely another integration's batch than a crowd of agents: no sample is taken."""
        last, self._last = self._last, Reading(at, tenant, own_sent)
        if last is None or (threshold and tenant >= self.up_to * threshold):
            return
        own = own_sent - last.own_sent
        # Requests leaving the window make the count fall: growth is only ever a lower bound.
        others = tenant - last.tenant - own
        if own < self.min_own:
            return
        agents = min(MAX_AGENTS, 1 + math.ceil(max(0, others) / own))
        self._samples.append((at, agents))

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
        return max(self.fleet_size, self.observed(now))
