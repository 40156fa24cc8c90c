"""A faithful Autotask REST API simulator with fault injection, for tests and the demo."""

from agent.simulator.faults import FaultRule, Faults
from agent.simulator.query import QueryError
from agent.simulator.seed import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME
from agent.simulator.server import serve, serve_in_thread
from agent.simulator.simulator import SERVED_SERVICE_TIME, Simulator, served_service_time
from agent.simulator.writes import WriteError

__all__ = [
    "DEMO_INTEGRATION_CODE",
    "DEMO_SECRET",
    "DEMO_USERNAME",
    "SERVED_SERVICE_TIME",
    "FaultRule",
    "Faults",
    "QueryError",
    "Simulator",
    "WriteError",
    "serve",
    "serve_in_thread",
    "served_service_time",
]
