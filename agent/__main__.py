"""`python -m agent` is the `autotask-agent` command."""

from agent.cli import main

raise SystemExit(main())
