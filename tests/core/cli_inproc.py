"""Running the real command line (`agent.cli.main`, the `python -m agent` entry point) in this
process, as `tests.core.cli_run.cli` runs it in a child: the same arguments, environment, working
folder and keyring (none: the children have no system keyring), its streams encoded as a child's
are, and the process-wide state it sets (logging, the keyring) put back afterwards. For the tests
where the process boundary is not what is proven; `cli_run.cli` stays for those where it is."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import keyring
from keyring.backends import fail

from agent import cli as agent_cli
from agent import logs
from tests.core.cli_run import Ran


@contextlib.contextmanager
def _environment(data: Path) -> Iterator[None]:
    """The child's environment and working folder (see `cli_run.cli`), for the call only."""
    saved = dict(os.environ)
    here = os.getcwd()
    os.environ.pop("FIELD_SYNC_DATA_DIR", None)
    os.environ["XDG_DATA_HOME"] = str(data / "xdg-data")
    os.environ["XDG_STATE_HOME"] = str(data / "xdg-state")
    if not data.exists():
        data.mkdir(parents=True)
    os.chdir(data if data.is_dir() else data.parent)
    try:
        yield
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _process_state() -> Iterator[None]:
    """No keyring, as in a child; the logging the command configures is undone afterwards.
    (What a failed command leaves to the garbage collector, e.g. a database file kept open by a
    traceback's frames, the end of a child would close at once: a test that needs it closed
    collects it.)"""
    previous_keyring = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    httpx_level = logging.getLogger("httpx").level
    log_state = dict(logs._state)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(httpx_level)
        logs._state.clear()
        logs._state.update(log_state)
        keyring.set_keyring(previous_keyring)


@contextlib.contextmanager
def _streams() -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    """stdout and stderr as a child's pipes are (UTF-8; stderr escapes what it cannot encode)."""
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape")
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace")
    try:
        yield out, err
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(ValueError):  # closed by the command
                stream.flush()
                stream.detach()  # the bytes stay readable
        sys.stdout, sys.stderr = saved


def cli(data: Path, *argv: str | bytes, demo: bool = True) -> Ran:
    """`python -m agent --data-dir DATA [--demo] ARGV...`, run by `agent.cli.main` here; bytes
    are decoded as the interpreter decodes a child's raw argv (UTF-8, surrogateescape)."""
    args = ["--data-dir", str(data), *(["--demo"] if demo else [])]
    args += [os.fsdecode(a) for a in argv]
    with _environment(data), _process_state(), _streams() as (out, err):
        try:
            code = agent_cli.main(args)
        except SystemExit as exc:  # argparse's usage errors, as the interpreter ends on them
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except Exception:  # what a child would print before ending with status 1
            traceback.print_exc()
            code = 1
    return Ran(
        code,
        out.getvalue().decode("utf-8", "backslashreplace"),
        err.getvalue().decode("utf-8", "backslashreplace"),
    )
