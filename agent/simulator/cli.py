"""`simulator` command: serve the demo tenant on a port until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import re
import socket
import sys

from agent.cli_args import OneLineParser, count, port, text_for
from agent.simulator.impersonation import entity_routes
from agent.simulator.seed import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME
from agent.simulator.server import start, stop
from agent.simulator.simulator import (
    SERVED_SERVICE_TIME,
    SERVICE_TIME_ENV,
    Simulator,
    served_service_time,
)


def non_negative_number(value: str) -> float:
    """Seconds: a finite number, zero or more."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds, 0 or more")
    return number


def time_scale(value: str) -> float:
    """The factor simulated time runs at: a decimal more than 0, written out in digits.

    `1e-6` is refused for its form (an exponent), and the message says so rather than
    claiming the value is not more than 0."""
    if not re.fullmatch(r"\s*[0-9]*\.?[0-9]+\s*", value, re.ASCII):
        raise argparse.ArgumentTypeError(
            "give the time scale as a decimal written out in digits, like 0.01 or 1.5, "
            f"without an exponent or a sign (got {text_for(value)})"
        )
    if not float(value) > 0:
        raise argparse.ArgumentTypeError(
            f"give a time scale more than 0, like 0.01 or 1.5 (got {text_for(value)})"
        )
    return float(value)


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="simulator", description="Serve a simulated Autotask API.")
    p.add_argument("--port", type=port, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--seed", default="demo")
    p.add_argument("--tickets", type=count, default=500)
    p.add_argument(
        "--time-scale",
        type=time_scale,
        default=1.0,
        help="how fast simulated time runs: 0.01 makes the API's hour 36 s (default 1)",
    )
    p.add_argument("--threshold", type=count, default=10_000)
    p.add_argument("--no-dispatcher", action="store_true", help="no simulated dispatcher edits")
    p.add_argument("--no-latency", action="store_true", help="no threshold-related latency")
    p.add_argument(
        "--service-time",
        type=non_negative_number,
        default=None,
        help=f"seconds each request takes, scaled by --time-scale (default "
        f"{SERVED_SERVICE_TIME}, or ${SERVICE_TIME_ENV}; 0 answers at once)",
    )
    p.add_argument(
        "--integration-codes",
        type=count,
        default=1,
        help="accept N integration codes (DEMO code plus DEMO code with -2, -3, ...)",
    )
    p.add_argument(
        "--refuse-impersonation",
        type=_entities,
        default=(),
        metavar="ENTITY[,ENTITY...]",
        help="entities (e.g. TicketNotes) whose writes the tenant refuses to impersonate",
    )
    return p


def _entities(value: str) -> tuple[str, ...]:
    """A comma-separated list of entity names of the API."""
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    try:
        entity_routes(names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return names


async def _main(args: argparse.Namespace) -> None:
    sim = Simulator(
        args.seed,
        args.tickets,
        args.time_scale,
        threshold=args.threshold,
        service_time=served_service_time() if args.service_time is None else args.service_time,
        impersonation_refused=args.refuse_impersonation,
    )
    if args.no_latency:
        sim.limits.latency_enabled = False
    for n in range(2, args.integration_codes + 1):
        sim.add_integration_code(f"{DEMO_INTEGRATION_CODE}-{n}")
    server, task, base = await start(sim, args.host, args.port)
    try:
        print(
            f"Simulator serving {args.seed} tenant at {base} "
            f"(user {DEMO_USERNAME}, secret {DEMO_SECRET}, "
            f"integration code {DEMO_INTEGRATION_CODE}, zone {sim.zone})",
            flush=True,
        )
        if not args.no_dispatcher:
            sim.dispatcher.start()
        await asyncio.shield(task)  # uvicorn ends the task on Ctrl-C or SIGTERM
    finally:
        await stop(sim, server, task)


def _bindable(host: str, port: int) -> str | None:
    """Why `host:port` cannot be served, or None: asked before uvicorn, which would print a
    traceback of its own instead of one line."""
    try:
        with socket.create_server((host, port)):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def run(argv: list[str]) -> int:
    """Serve until Ctrl-C; returns the exit status."""
    args = parser().parse_args(argv)
    problem = _bindable(args.host, args.port)
    if problem is not None:
        print(
            f"simulator: error: cannot serve on {args.host}:{args.port} ({problem})",
            file=sys.stderr,
        )
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
