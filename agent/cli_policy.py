"""`autotask-agent policy ...`: check an administrator's policy file before rolling it out, and
show the policy in effect on this computer. Secrets are never printed, only whether one is set."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.cli_args import path

MASK = "********"


def add_parsers(sub: Any) -> None:
    policy = sub.add_parser("policy", help="check or show the administrator's policy")
    psub = policy.add_subparsers(dest="policy_command", required=True)
    check = psub.add_parser(
        "check", help="check a policy file (JSON or plist) and print what it would set"
    )
    check.add_argument("file", type=path)
    psub.add_parser("show", help="the policy in effect on this computer, and where it comes from")


def _effect(key: str, value: object) -> str:
    """What `key` set to `value` does on a computer (true for every value it can hold)."""
    from agent.config.policy import CREDENTIAL_KEYS, KEYS

    spec = KEYS[key]
    if key == "redis_url":
        return "setting redis_url, locked (its password: the keyring)"
    if spec.setting is not None:
        return f"setting {spec.setting}, locked"
    if key in CREDENTIAL_KEYS:
        return "the sign-in, kept in the keyring"
    if key == "encryption_required":
        return (
            "local data always encrypted (keys decrypt and --allow-unencrypted refused)"
            if value is True
            else "encryption not required: the technician may keep local data unencrypted"
        )
    return spec.help


def _lines(policy: Any, secrets: Any, *, show_origin: bool) -> list[str]:
    from agent.config.policy import KEYS
    from agent.config.redis_url import with_password

    lines = []
    for key in KEYS:
        if key not in policy.values:
            continue
        value = policy.values[key]
        if KEYS[key].secret:
            shown = MASK
        elif key == "redis_url":
            shown = with_password(value, MASK if secrets.redis_password else None)
        else:
            shown = value if isinstance(value, str) else json.dumps(value)
        where = f"  [{policy.origin(key)}]" if show_origin else ""
        lines.append(f"  {key:<20} = {shown:<40} -> {_effect(key, value)}{where}")
    return lines


def cmd_policy(args: argparse.Namespace) -> int:
    from agent.cli_args import stderr_line
    from agent.config.policy import PolicyError
    from agent.config.sources import PolicySources, default_sources, load, read_file

    try:
        if args.policy_command == "check":
            policy, secrets = read_file(Path(args.file))
            print(
                f"{args.file}: a valid policy; it would set:"
                if not policy.empty
                else f"{args.file}: a valid policy that sets nothing"
            )
        else:
            sources: PolicySources = default_sources()
            policy, secrets = load(sources)
            if policy.empty:
                where = ", ".join(str(p) for p in sources.files) or "none"
                print(f"No administrator's policy on this computer (files looked for: {where}).")
                return 0
            print("The administrator's policy in effect on this computer:")
    except PolicyError as exc:
        for problem in exc.problems:
            stderr_line(f"error: {exc.origin}: {problem}")
        return 2
    for line in _lines(policy, secrets, show_origin=args.policy_command == "show"):
        print(line)
    shared = "fleet_size" in policy.values or "redis_url" in policy.values
    if args.policy_command == "check" and not policy.empty and not shared:
        print(FLEET_NOTE)
    return 0


FLEET_NOTE = (
    "note: neither fleet_size nor redis_url is set. Agents of the team then see each other only\n"
    "  in the tenant's request count while they send at the same moment (as after an outage);\n"
    "  agents working at different times look like the tenant's other integrations, and the\n"
    "  team can spend more than quota_share. Set fleet_size to the number of technicians, or\n"
    "  redis_url, to keep the team within it."
)


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {"policy": cmd_policy}
