"""Property tests of the breaker state machine with Hypothesis' rule-based state machine."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agent.clock import FakeClock
from agent.resilience.breaker import (
    BreakerOpenError,
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    Permit,
)

PROBES = 3


class BreakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.breaker = CircuitBreaker(
            "z",
            "Tickets",
            BreakerSettings(min_calls=5, probes=PROBES, break_seconds=2.0, max_break_seconds=16.0),
            self.clock,
        )
        self.in_flight: list[Permit] = []
        self.probes_admitted = 0
        self.state_at_start: BreakerState | None = None

    def _try_acquire(self) -> Permit | None:
        state = self.breaker.state
        try:
            permit = self.breaker.acquire()
        except BreakerOpenError:
            assert state is not BreakerState.CLOSED
            return None
        # No call passes an open or isolated breaker.
        assert state in (BreakerState.CLOSED, BreakerState.HALF_OPEN)
        if state is BreakerState.HALF_OPEN:
            self.probes_admitted += 1
            # Half-open admits at most the probe count.
            assert self.probes_admitted <= PROBES
        return permit

    @rule()
    def start_call(self) -> None:
        permit = self._try_acquire()
        if permit is not None:
            self.in_flight.append(permit)

    @precondition(lambda self: self.in_flight)
    @rule(index=st.integers(min_value=0), ok=st.booleans(), slow=st.booleans())
    def finish_call(self, index: int, ok: bool, slow: bool) -> None:
        permit = self.in_flight.pop(index % len(self.in_flight))
        duration = 20.0 if slow else 0.1
        (self.breaker.success if ok else self.breaker.failure)(permit, duration)

    @precondition(lambda self: self.in_flight)
    @rule(index=st.integers(min_value=0))
    def cancel_call(self, index: int) -> None:
        permit = self.in_flight.pop(index % len(self.in_flight))
        if permit.probe and permit.generation == self.breaker._generation:
            self.probes_admitted -= 1
        self.breaker.release(permit)

    @rule(seconds=st.floats(min_value=0.0, max_value=30.0))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def isolate(self) -> None:
        self.breaker.isolate()

    @rule()
    def reset(self) -> None:
        self.breaker.reset()
        assert self.breaker.state is BreakerState.CLOSED

    @rule()
    def recover(self) -> None:
        """After the break, probe calls that all succeed close the breaker."""
        if self.breaker.state is BreakerState.ISOLATED:
            return
        self.in_flight.clear()
        self.clock.advance(max(0.0, self.breaker.opened_until - self.clock.monotonic()))
        if self.breaker.state is BreakerState.HALF_OPEN:
            permits = [self.breaker.acquire() for _ in range(PROBES)]
            for permit in permits:
                self.breaker.success(permit, 0.1)
        assert self.breaker.state is BreakerState.CLOSED

    @invariant()
    def probe_count_resets_outside_half_open(self) -> None:
        if self.breaker._state is not BreakerState.HALF_OPEN:
            self.probes_admitted = 0

    @invariant()
    def break_time_is_capped(self) -> None:
        assert self.breaker.opened_until - self.clock.monotonic() <= 16.0 + 1e-9


BreakerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestBreakerStateMachine = BreakerMachine.TestCase
