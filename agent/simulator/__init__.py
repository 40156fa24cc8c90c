"""A faithful Autotask REST API simulator with fault injection, for tests and the demo."""

from agent.simulator.faults import FaultRule, Faults
from agent.simulator.query import QueryError
from agent.simulator.seed import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME
from agent.simulator.server import serve, serve_in_thread
from agent.simulator.simulator import Simulator
from agent.simulator.writes import WriteError

__all__ = [
    "DEMO_INTEGRATION_CODE",
    "DEMO_SECRET",
    "DEMO_USERNAME",
    "FaultRule",
    "Faults",
    "QueryError",
    "Simulator",
    "WriteError",
    "serve",
    "serve_in_thread",
]
