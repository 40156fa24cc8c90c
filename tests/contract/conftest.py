"""Contract fixtures: a small simulator on a fake clock and clients speaking to it in-process."""

from __future__ import annotations

import pytest

from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.simulator.conftest import api, headers, raw_client

__all__ = ["api", "headers", "raw_client", "sim"]


@pytest.fixture
def sim(fake_clock: FakeClock) -> Simulator:
    return Simulator(seed="demo", tickets=40, clock=fake_clock)
