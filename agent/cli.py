"""The `autotask-agent` command: the window by default, `--headless`, and script subcommands."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent import __version__, app_mutex, cli_agent, cli_keys, cli_policy
from agent.cli_args import OneLineParser, name, path, port, text

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="autotask-agent",
        description="Field Sync for Autotask: offline-first sync of tickets, notes and time.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--headless", action="store_true", help="run the sync agent, no window")
    parser.add_argument("--demo", action="store_true", help="use the built-in demo tenant")
    parser.add_argument(
        "--data-dir", type=path, help="keep data and logs here (also FIELD_SYNC_DATA_DIR)"
    )
    parser.add_argument(
        "--profile", type=name, default=None, help="profile name (default: 'default')"
    )
    parser.add_argument(
        "--self-test", action="store_true", help="check this installation works (prints JSON)"
    )
    parser.add_argument(
        "--metrics-port", type=port, help="with --headless: serve Prometheus metrics on loopback"
    )
    parser.add_argument(
        "--allow-unencrypted",
        action="store_true",
        help="where no system keyring is available, keep this profile's data unencrypted "
        "(without it nothing new is saved)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    status = sub.add_parser("status", help="show the profile, database and queue state")
    status.add_argument("--json", action="store_true", help="print JSON")

    settings = sub.add_parser("settings", help="list or change settings")
    settings_sub = settings.add_subparsers(dest="settings_command", required=True)
    settings_sub.add_parser("list", help="show every setting and its value")
    setter = settings_sub.add_parser("set", help="change one setting")
    setter.add_argument("name", type=name)
    setter.add_argument("value", type=text)

    sim = sub.add_parser("simulator", help="serve the Autotask simulator", add_help=False)
    sim.add_argument("args", nargs=argparse.REMAINDER)
    cli_agent.add_parsers(sub)
    cli_keys.add_parsers(sub)
    cli_policy.add_parsers(sub)
    return parser


def _profile_name(args: argparse.Namespace) -> str:
    return str(args.profile or ("demo" if args.demo else "default"))


def _open(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from agent.profile import open_profile

    return open_profile(
        args.data_dir,
        _profile_name(args),
        demo=args.demo,
        allow_unencrypted=args.allow_unencrypted,
    )


def _signed_in(profile: Any) -> bool | str:
    """Whether credentials are saved; without a keyring `status` still tells everything else."""
    from agent.credentials import NoKeyringError

    try:
        return bool(profile.credentials.has_credentials())
    except NoKeyringError:
        return "unknown (no system keyring is available)"


def _encryption(profile: Any) -> dict[str, Any]:
    """How the data is kept, and when its key was made (kept beside it in the keyring)."""
    state = profile.encryption
    info: dict[str, Any] = {
        "encryption": state.protection.value,
        "encryption_detail": state.describe(),
    }
    if state.key_created_at is not None:
        made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(state.key_created_at))
        info["data_key_created"] = made
        info["data_key_age_days"] = state.key_age_days()
    return info


def cmd_status(args: argparse.Namespace) -> int:
    from agent.api.recovery import last_salvage
    from agent.store import screened
    from agent.store.models import Conflict, OutboxOp

    profile = _open(args)
    try:
        store = profile.store

        def counts() -> dict[str, int]:
            rows = OutboxOp.select(OutboxOp.state, OutboxOp.id).tuples()
            result: dict[str, int] = {}
            for state, _ in rows:
                result[state] = result.get(state, 0) + 1
            return result

        info = {
            "version": __version__,
            "profile": profile.paths.profile,
            "database": str(profile.paths.database),
            "log_file": str(profile.paths.log_file),
            "schema_version": store.schema_version(),
            "operations": store.read(counts),
            "open_conflicts": store.read(
                lambda: Conflict.select().where(Conflict.status == "open").count()
            ),
            "signed_in": _signed_in(profile),
            **_encryption(profile),
        }
        tally = store.read(screened.summary)
        info["server_records"] = (
            {"skipped": tally.skipped, "kept_corrected": tally.clamped, "reason": tally.last_reason}
            if args.json
            else _server_records(tally.skipped, tally.clamped, tally.last_reason)
        )
        if not profile.policy.empty:  # the administrator's: which keys, from where
            where = sorted(set(profile.policy.origins.values()))
            info["policy"] = f"{', '.join(profile.policy.values)} (from {', '.join(where)})"
        if profile.recovery is not None:
            info["recovery"] = profile.recovery.message
        salvaged = last_salvage(store)
        if salvaged is not None and salvaged.at is not None:
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(salvaged.at))
            info["salvaged"] = f"{when}: {salvaged.summary} (kept as {salvaged.kept_as})"
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            for key, value in info.items():
                print(f"{key:>15}: {value}")
        return 0
    finally:
        profile.close()


def _server_records(skipped: int, kept: int, reason: str | None) -> str:
    """Records from Autotask the screening skipped (or kept without an unreadable field), in
    all, and the latest fault: "2 skipped, 1 kept with a field left out (last: ...)"."""
    if not skipped and not kept:
        return "every record from Autotask was usable"
    return f"{skipped} skipped, {kept} kept with a field left out (last: {reason})"


def _record_directory(profile: Any, url: str | None) -> None:
    from agent.credentials import CredentialError
    from agent.security.errors import SecurityError

    with contextlib.suppress(CredentialError, SecurityError):  # no keyring: nothing to protect
        profile.vault.record_directory(url)


def cmd_settings(args: argparse.Namespace) -> int:
    from agent.logs import mask_url_password
    from agent.settings import describe

    profile = _open(args)
    try:
        if args.settings_command == "set":
            changed = profile.settings_repo.update(**{args.name: args.value})
            if args.name == "api_directory_url":  # the user's choice, kept beside the keys
                _record_directory(profile, changed.api_directory_url)
        current = profile.settings
        locked = profile.settings_repo.locked
        for name, default, help_text in describe():
            value = getattr(current, name)
            mark = "" if value == default else "  (changed)"
            if name in locked:
                mark = f"  (set by your administrator's policy: {locked[name].origin})"
            if name == "redis_url" and value:
                value = mask_url_password(value)
            print(f"{name:>22} = {value!r}{mark}   # {help_text}")
        return 0
    finally:
        profile.close()


def cmd_simulator(args: argparse.Namespace) -> int:
    from agent.simulator.cli import run

    return int(run(list(args.args)))


def cmd_default(args: argparse.Namespace) -> int:
    if args.self_test:
        from agent.selftest import run_self_test

        return run_self_test()
    if args.headless:
        from agent.headless import run_headless

        return run_headless(
            args.data_dir,
            _profile_name(args),
            demo=args.demo,
            metrics_port=args.metrics_port,
            allow_unencrypted=args.allow_unencrypted,
        )
    try:
        # Imported by name: the core never depends on the window at import time.
        ui_app = importlib.import_module("ui.app")
    except ImportError as exc:  # the window needs PySide6 and Qt's libraries
        print(f"The window cannot start ({exc}); use --headless.", file=sys.stderr)
        return 2
    return int(
        ui_app.run_app(
            args.data_dir,
            _profile_name(args),
            demo=args.demo,
            allow_unencrypted=args.allow_unencrypted,
        )
    )


COMMANDS: dict[str | None, Handler] = {
    None: cmd_default,
    "status": cmd_status,
    "settings": cmd_settings,
    "simulator": cmd_simulator,
    **cli_agent.COMMANDS,
    **cli_keys.COMMANDS,
    **cli_policy.COMMANDS,
}


def _simulator_args(
    parser: argparse.ArgumentParser, tokens: list[str]
) -> argparse.Namespace | None:
    """`[options] simulator ...`: everything after `simulator` is the simulator's own to parse
    (argparse's REMAINDER would take none of it when it starts with an option)."""
    at = 0
    while at < len(tokens) and tokens[at].startswith("-"):
        action = parser._option_string_actions.get(tokens[at])
        at += 2 if action is not None and action.nargs != 0 else 1
    if at >= len(tokens) or tokens[at] != "simulator":
        return None
    args = parser.parse_args(tokens[:at])
    args.command, args.args = "simulator", tokens[at + 1 :]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    _guard_streams()
    tokens = list(sys.argv[1:] if argv is None else argv)
    app_mutex.hold()  # Windows: the installer waits for this process to quit
    parser = build_parser()
    args = _simulator_args(parser, tokens) or parser.parse_args(tokens)
    if args.demo and args.profile not in (None, "demo"):
        parser.error(
            "--demo opens the built-in demo tenant on its own profile; leave out --profile"
        )
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # here, so a reader that went away is noticed below
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as tools do
        _silence_stdout()
        return 141
    except Exception as exc:
        return _failed(args, exc)


def _guard_streams() -> None:
    """Give a process without standard streams null-device ones: a windowed build (FieldSync.exe
    on Windows) starts with `sys.stdout` and `sys.stderr` set to None, where printing, flushing
    and error reporting would fail (and PyInstaller would show its "Unhandled exception" box)."""
    import os

    for stream in ("stdout", "stderr"):
        if getattr(sys, stream) is None:
            setattr(sys, stream, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def _silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's last flush cannot fail too."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (captured, or closed already)
        pass


def _failed(args: argparse.Namespace, exc: Exception) -> int:
    """One line on stderr and exit status 2, whatever failed (see `agent.cli_errors`)."""
    try:
        from agent import logs
        from agent.cli_errors import report
        from agent.paths import resolve

        try:
            # The self-test never touches the user's profile, its log included; nor does a
            # policy command, which only reads (a check may run where no profile is wanted).
            untouched = args.self_test or args.command == "policy"
            paths = None if untouched else resolve(args.data_dir, _profile_name(args))
        except Exception:  # an impossible profile name or data folder: nothing to name
            paths = None

        def open_log() -> None:
            if paths is not None and not logs.configured():
                logs.configure(paths.log_file)

        return report(exc, database=paths.database if paths else None, open_log=open_log)
    except Exception as inner:  # reporting must not end in a traceback either
        sys.stderr.write(f"error: {type(exc).__name__}: {exc} (and {inner!r} reporting it)\n")
        return 2
