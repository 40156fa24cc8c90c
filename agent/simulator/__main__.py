"""`python -m agent.simulator`: the simulator command."""

import sys

from agent.simulator.cli import run

raise SystemExit(run(sys.argv[1:]))
